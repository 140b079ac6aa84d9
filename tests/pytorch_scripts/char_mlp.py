"""A character MLP language model: embedding lookup C[X], torch.tanh hidden layer, F.cross_entropy, minibatches."""

import numpy as np
import torch
import torch.nn.functional as F

words = (
    "emma olivia ava isabella sophia charlotte mia amelia harper evelyn abigail emily elizabeth mila ella avery "
    "sofia camila aria scarlett victoria madison luna grace chloe penelope layla riley zoey nora lily eleanor"
).split()
chars = sorted(set("".join(words)))
stoi = {s: i + 1 for i, s in enumerate(chars)}
stoi["."] = 0
itos = {i: s for s, i in stoi.items()}
vocab = len(stoi)

block_size = 3
X, Y = [], []
for w in words:
    context = [0] * block_size
    for ch in w + ".":
        ix = stoi[ch]
        X.append(context)
        Y.append(ix)
        context = context[1:] + [ix]
X = torch.tensor(X)
Y = torch.tensor(Y)
print("dataset", list(X.shape), list(Y.shape), X.dtype == torch.int64)

rng = np.random.default_rng(9)
C = torch.tensor(rng.standard_normal((vocab, 2)), dtype=torch.float32)
W1 = torch.tensor(rng.standard_normal((6, 50)) * 0.3, dtype=torch.float32)
b1 = torch.tensor(rng.standard_normal(50) * 0.1, dtype=torch.float32)
W2 = torch.tensor(rng.standard_normal((50, vocab)) * 0.1, dtype=torch.float32)
b2 = torch.zeros(vocab)
parameters = [C, W1, b1, W2, b2]
print("parameters", sum(p.nelement() for p in parameters))
for p in parameters:
    p.requires_grad = True

for i in range(150):
    ix = torch.from_numpy(rng.integers(0, X.shape[0], 32))
    emb = C[X[ix]]
    h = torch.tanh(emb.view(-1, 6) @ W1 + b1)
    logits = h @ W2 + b2
    loss = F.cross_entropy(logits, Y[ix])
    for p in parameters:
        p.grad = None
    loss.backward()
    lr = 0.1 if i < 100 else 0.01
    for p in parameters:
        p.data += -lr * p.grad
    if i % 50 == 0:
        print(f"step {i} minibatch loss {loss.item():.5f}")

emb = C[X]
h = torch.tanh(emb.view(emb.shape[0], -1) @ W1 + b1)
logits = h @ W2 + b2
print(f"emb {list(emb.shape)} full loss {F.cross_entropy(logits, Y).item():.5f}")

for first in "aei":
    out = [stoi[first]]
    context = [0, 0, stoi[first]]
    while True:
        emb = C[torch.tensor([context])]
        h = torch.tanh(emb.view(1, -1) @ W1 + b1)
        probs = F.softmax(h @ W2 + b2, dim=1)
        ix = torch.argmax(probs, dim=1).item()
        context = context[1:] + [ix]
        out.append(ix)
        if ix == 0 or len(out) >= 10:
            break
    print("greedy", "".join(itos[i] for i in out))
