# A bag-of-embeddings text classifier and a character RNN unrolled by hand with nn.Linear
# (the "NLP from scratch" style), plus nn.RNN/LSTM where the library has them.
import torch
import torch.nn as nn
import torch.nn.functional as F
from same_start import init_from_numpy

vocab = ["<pad>", "the", "cat", "sat", "on", "mat", "dog", "ran", "fast", "slow"]
word_to_ix = {w: i for i, w in enumerate(vocab)}
sentences = [
    ("the cat sat on the mat", 0),
    ("the dog ran fast", 1),
    ("cat sat", 0),
    ("dog ran slow", 1),
    ("the cat ran", 1),
    ("the dog sat on mat", 0),
]


def encode(s, length=6):
    ids = [word_to_ix[w] for w in s.split()]
    return ids + [0] * (length - len(ids))


X = torch.tensor([encode(s) for s, _ in sentences], dtype=torch.long)
y = torch.tensor([label for _, label in sentences])
print(X.dtype, X.shape, y.dtype)


class BagClassifier(nn.Module):
    def __init__(self, vocab_size, dim, classes):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, dim, padding_idx=0)
        self.fc = nn.Linear(dim, classes)

    def forward(self, ids):
        emb = self.embedding(ids)
        mask = (ids != 0).unsqueeze(-1).float()
        pooled = (emb * mask).sum(1) / mask.sum(1)
        return self.fc(pooled)


model = BagClassifier(len(vocab), 5, 2)
init_from_numpy(model, scale=0.5)
with torch.no_grad():
    model.embedding.weight[0].fill_(0)
print(model)
print(model.embedding.weight.shape, model.embedding.padding_idx)
opt = torch.optim.Adam(model.parameters(), lr=0.05)
for epoch in range(20):
    opt.zero_grad()
    loss = F.cross_entropy(model(X), y)
    loss.backward()
    opt.step()
    if epoch % 5 == 0:
        print(epoch, round(loss.item(), 5))
bag_loss = loss.item()
print("pad row grad", model.embedding.weight.grad[0].abs().sum().item())
print("pad row", model.embedding.weight[0].tolist())
with torch.no_grad():
    probs = F.softmax(model(X), dim=-1)
print(probs.argmax(-1).tolist(), probs.shape)
print(F.embedding(torch.tensor([[1, 2]]), model.embedding.weight).shape)
emb2 = nn.Embedding.from_pretrained(torch.eye(4), freeze=True)
print(emb2.weight.requires_grad, emb2(torch.tensor([2])).tolist())

# character RNN from nn.Linear + tanh, as in "classifying names with a character-level RNN"
letters = "abcdefgh"


def line_to_tensor(line):
    t = torch.zeros(len(line), 1, len(letters))
    for i, ch in enumerate(line):
        t[i][0][letters.index(ch)] = 1
    return t


class RNN(nn.Module):
    def __init__(self, input_size, hidden_size, output_size):
        super().__init__()
        self.hidden_size = hidden_size
        self.i2h = nn.Linear(input_size, hidden_size)
        self.h2h = nn.Linear(hidden_size, hidden_size)
        self.h2o = nn.Linear(hidden_size, output_size)
        self.softmax = nn.LogSoftmax(dim=1)

    def forward(self, input, hidden):
        hidden = F.tanh(self.i2h(input) + self.h2h(hidden))
        output = self.softmax(self.h2o(hidden))
        return output, hidden

    def initHidden(self):
        return torch.zeros(1, self.hidden_size)


rnn = RNN(len(letters), 12, 2)
init_from_numpy(rnn, seed=3, scale=0.3)
criterion = nn.NLLLoss()
data = [("abc", 0), ("hgf", 1), ("abd", 0), ("heg", 1), ("bca", 0), ("gfh", 1)]
lr = 0.05
for it in range(30):
    line, label = data[it % len(data)]
    category = torch.tensor([label], dtype=torch.long)
    line_tensor = line_to_tensor(line)
    hidden = rnn.initHidden()
    rnn.zero_grad()
    for i in range(line_tensor.size()[0]):
        output, hidden = rnn(line_tensor[i], hidden)
    loss = criterion(output, category)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(rnn.parameters(), 3)
    for p in rnn.parameters():
        p.data.add_(p.grad.data, alpha=-lr)
    if it % 6 == 5:
        print(it, f"{loss.item():.5f}")
top_n, top_i = output.topk(1)
print(top_n.shape, top_i[0].item())
print(hidden.shape, output.shape)
for name in [
    "RNN",
    "LSTM",
    "GRU",
    "RNNCell",
    "LSTMCell",
    "EmbeddingBag",
    "TransformerEncoderLayer",
]:
    try:
        getattr(nn, name)
        print(name, "exists")
    except (AttributeError, NotImplementedError) as err:
        print(name, "missing", type(err).__name__)
final_loss = bag_loss + loss.item()
