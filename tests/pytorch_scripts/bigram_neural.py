"""The bigram model as a one-layer network: F.one_hot inputs, softmax by hand, gradient descent on W.data."""

import numpy as np
import torch
import torch.nn.functional as F

words = "emma olivia ava isabella sophia charlotte mia amelia harper evelyn abigail emily elizabeth mila".split()
chars = sorted(set("".join(words)))
stoi = {s: i + 1 for i, s in enumerate(chars)}
stoi["."] = 0
vocab = len(stoi)

xs, ys = [], []
for w in words:
    chs = ["."] + list(w) + ["."]
    for ch1, ch2 in zip(chs, chs[1:]):
        xs.append(stoi[ch1])
        ys.append(stoi[ch2])
xs = torch.tensor(xs)
ys = torch.tensor(ys)
num = xs.nelement()
print("number of examples:", num, "vocabulary", vocab)

W = torch.tensor(np.random.default_rng(8).standard_normal((vocab, vocab)), dtype=torch.float32, requires_grad=True)

for k in range(60):
    xenc = F.one_hot(xs, num_classes=vocab).float()
    logits = xenc @ W
    counts = logits.exp()
    probs = counts / counts.sum(1, keepdim=True)
    loss = -probs[torch.arange(num), ys].log().mean() + 0.01 * (W**2).mean()
    if k % 20 == 0:
        print(f"step {k} loss {loss.item():.5f}")
    W.grad = None
    loss.backward()
    W.data += -10 * W.grad

print(f"final loss {loss.item():.5f}")
print(f"xenc {list(xenc.shape)} {xenc.dtype == torch.float32} probs row 0 sum {probs[0].sum().item():.5f}")
print("most likely first letters", torch.topk(probs[0], 3).indices.tolist())
