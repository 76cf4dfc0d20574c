import glob
rows=[l.split() for f in glob.glob('/tmp/stages-*.txt') for l in open(f)]
by={}
for k,stg,t in rows:
    if stg.startswith('gen-t0@'): by.setdefault(k,{})['gen-t0']=float(stg[7:]); continue
    by.setdefault(k,{})[stg]=float(t)
out=[]
for k,v in by.items():
    if 'start' in v and 'announced' in v:
        v=dict(v)
        for link in [s for s in list(v) if s.startswith('ride=') or s.startswith('req=')]:
            v.update(by.get(link,{}))
        out.append(v)
order=['gen-t0','http-in','ctx-start','ctx-done','exec','charged','resolver','rider','counted','start','existing','quote','pick','insert','announced','deliver','send','gen-offer']
print(len(out),'requests')
def pct(d,q): return d[min(len(d)-1,int(len(d)*q))]
for a,b in zip(order,order[1:]):
    d=sorted(o[b]-o[a] for o in out if o.get(a) is not None and o.get(b) is not None)
    if d: print(f"{a:>10}->{b:<10} n={len(d)} p50={pct(d,.5):.2f} p90={pct(d,.9):.2f} p99={pct(d,.99):.2f}")
for a,b in [('gen-t0','gen-offer'),('start','send'),('announced','gen-reply'),('gen-t0','gen-reply')]:
    d=sorted(o[b]-o[a] for o in out if o.get(a) is not None and o.get(b) is not None)
    if d: print(f"TOTAL {a}->{b} p50 {pct(d,.5):.2f} p90 {pct(d,.9):.2f} p99 {pct(d,.99):.2f}")
