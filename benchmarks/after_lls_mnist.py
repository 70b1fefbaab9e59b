"""LLS (DDFA) on a label-shifted MNIST test split, raw pixels as the features: one JSON line per seed.

    python benchmarks/after_lls_mnist.py SEEDS MNIST_FOLDER/   (see benchmarks/after_pretraining.md)
"""
import gzip, sys, json, warnings; warnings.simplefilter("ignore")
import numpy as np, torch; torch.set_num_threads(1)
from selfsup.procedures.configs import LLSConfig
from selfsup.procedures.lls_eval import ddfa
root=sys.argv[2] if len(sys.argv) > 2 else "data/mnist/"
x=np.frombuffer(gzip.open(root+"t10k-images-idx3-ubyte.gz").read(),np.uint8,offset=16).reshape(-1,784)/255.
y=np.frombuffer(gzip.open(root+"t10k-labels-idx1-ubyte.gz").read(),np.uint8,offset=8).astype(np.int64)
x=torch.tensor(x,dtype=torch.float32); y=torch.tensor(y)
for kw in (dict(l2=1e-2),):
  for seed in range(int(sys.argv[1]) if len(sys.argv)>1 else 1):
    out=ddfa(x,y,LLSConfig(n_domains=15,alpha=0.5,**kw),seed=seed)
    print(json.dumps({"seed":seed,**kw,**out}),flush=True)
