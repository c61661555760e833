# Sums an ncu_summary.py listing (500 lines) by kernel class: python3 classes.py summary-500.txt [...]
import re,sys
classes=[("element-wise",("kernel_binop","kernel_scalar_binop","unary_float","full_kernel","mask_","kernel_cmp","bool_cast")),
("copies",("copy_kernel",)),("SSD",("ssd_",)),("conv",("conv_silu",)),("gated norm",("gated_norm",)),("matmul",("matmul",)),("reductions",("reduce_kernel",))]
for path in sys.argv[1:]:
    tot={};n={}
    for line in open(path).read().splitlines()[1:]:
        m=re.match(r"\s*([\d.]+) ms\s+(\d+)x\s+(\S+)",line)
        if not m: continue
        ms,c,name=float(m[1]),int(m[2]),m[3]
        k=next((cl for cl,ps in classes if name.startswith(ps)),"rest")
        tot[k]=tot.get(k,0)+ms; n[k]=n.get(k,0)+c
    print(path); [print(f"  {k:14s} {tot[k]:6.2f} ms {n[k]:4d}x") for k in sorted(tot,key=lambda k:-tot[k])]; print("  total",round(sum(tot.values()),2), sum(n.values()))
