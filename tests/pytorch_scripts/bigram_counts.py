"""Character bigram language model from counts: N[ix1, ix2] += 1, normalised rows, sampling, negative log likelihood."""

import numpy as np
import torch

words = (
    "emma olivia ava isabella sophia charlotte mia amelia harper evelyn abigail emily elizabeth mila ella avery "
    "sofia camila aria scarlett victoria madison luna grace chloe penelope layla riley zoey nora lily eleanor "
    "hannah lillian addison aubrey ellie stella natalie zoe leah hazel violet aurora savannah audrey brooklyn "
    "bella claire skylar lucy paisley everly anna caroline nova genesis emilia kennedy quinn jade maxwell"
).split()
chars = sorted(set("".join(words) + "abcdefghijklmnopqrstuvwxyz"))
stoi = {s: i + 1 for i, s in enumerate(chars)}
stoi["."] = 0
itos = {i: s for s, i in stoi.items()}

N = torch.zeros((27, 27), dtype=torch.int32)
for w in words:
    chs = ["."] + list(w) + ["."]
    for ch1, ch2 in zip(chs, chs[1:]):
        ix1 = stoi[ch1]
        ix2 = stoi[ch2]
        N[ix1, ix2] += 1

print("words", len(words), "bigrams", N.sum().item(), "most common after '.'", itos[N[0].argmax().item()])
print("row a", N[stoi["a"]].tolist())

P = (N + 1).float()
P /= P.sum(1, keepdim=True)
print(f"row sums {P.sum(1)[:3].tolist()}")

rng = np.random.default_rng(7)
for _ in range(5):
    out = []
    ix = 0
    while True:
        p = P[ix]
        cdf = torch.cumsum(p, dim=0)
        ix = int((cdf < float(rng.random())).sum().item())
        ix = min(ix, 26)
        out.append(itos[ix])
        if ix == 0 or len(out) > 12:
            break
    print("sample", "".join(out))

log_likelihood = 0.0
n = 0
for w in words:
    chs = ["."] + list(w) + ["."]
    for ch1, ch2 in zip(chs, chs[1:]):
        prob = P[stoi[ch1], stoi[ch2]]
        log_likelihood += torch.log(prob)
        n += 1
print(f"log_likelihood {log_likelihood.item():.4f}")
print(f"nll {(-log_likelihood / n).item():.6f}")
