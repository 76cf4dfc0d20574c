// GraphiQL driven the way a person uses it: click into an editor, type, press the run button,
// read the result pane. Also records what went over its graphql-ws sockets, to check how the
// Headers tab reaches the server.
import type { Page } from 'playwright-core';

export interface WsFrame {
  url: string;
  sent: boolean;
  message: Record<string, any>;
}

export interface GraphiQL {
  page: Page;
  /** Every graphql-ws message the page sent or received, in order. */
  frames: WsFrame[];
  typeQuery(text: string): Promise<void>;
  typeHeaders(text: string): Promise<void>;
  run(): Promise<void>;
  /** Resolves once the result pane shows every given text; rejects with what it shows instead. */
  resultShows(texts: string[], timeoutMs?: number): Promise<string>;
  result(): Promise<string>;
}

export async function openGraphiQL(page: Page, url: string): Promise<GraphiQL> {
  const frames: WsFrame[] = [];
  page.on('websocket', (ws) => {
    const record = (sent: boolean) => (f: { payload: string | Buffer }) => frames.push({ url: ws.url(), sent, message: JSON.parse(String(f.payload)) });
    ws.on('framesent', record(true));
    ws.on('framereceived', record(false));
  });
  // Ready once the schema is in: the Docs pane and typeahead need it.
  const introspected = page.waitForResponse((r) => r.request().postData()?.includes('IntrospectionQuery') === true && r.ok());
  await page.goto(url);
  await introspected.catch((err) => {
    throw new Error(`GraphiQL never asked for the schema: its scripts did not run (${err.message})`);
  });
  await page.locator('.graphiql-query-editor .monaco-editor').waitFor();

  // Select everything in an editor and type over it, key by key.
  const typeInto = async (editor: string, text: string) => {
    await page.locator(editor).click();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.press('Delete');
    await page.keyboard.type(text);
  };
  // Monaco renders spaces as no-break spaces.
  const result = async () => (await page.locator('.graphiql-response').innerText()).replace(/\u00a0/g, ' ');
  return {
    page,
    frames,
    typeQuery: (text) => typeInto('.graphiql-query-editor .monaco-editor', text),
    typeHeaders: async (text) => {
      await page.locator('.graphiql-editor-tools').getByText('Headers', { exact: true }).click();
      await typeInto('.graphiql-editor-tool .graphiql-editor:not(.hidden) .monaco-editor', text);
    },
    run: () => page.locator('.graphiql-execute-button').click(),
    result,
    resultShows: async (texts, timeoutMs = 20_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const shown = await result();
        if (texts.every((t) => shown.includes(t))) return shown;
        if (Date.now() > deadline) throw new Error(`GraphiQL's result pane does not show ${JSON.stringify(texts)}; it shows:\n${shown}`);
        await page.waitForTimeout(100);
      }
    },
  };
}
