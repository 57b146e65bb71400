# After PyTorch's "Sequence Models and Long Short-Term Memory Networks" tutorial: an LSTM stepped
# one input at a time and over the whole sequence, then the part-of-speech tagger
# (Embedding -> LSTM -> Linear -> log_softmax, NLLLoss, SGD). Inputs and starting weights come
# from NumPy (the tutorial draws them with torch.randn), so both libraries see the same numbers.
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from same_start import init_from_numpy

rng = np.random.default_rng(0)
lstm = nn.LSTM(3, 3)  # input dim is 3, output dim is 3
init_from_numpy(lstm, seed=2, scale=0.5)
inputs = [torch.tensor(rng.standard_normal((1, 3)), dtype=torch.float32) for _ in range(5)]
start = (
    torch.tensor(rng.standard_normal((1, 1, 3)), dtype=torch.float32),
    torch.tensor(rng.standard_normal((1, 1, 3)), dtype=torch.float32),
)
hidden = start
for i in inputs:
    # step through the sequence one element at a time; after each step, hidden has the state
    out, hidden = lstm(i.view(1, 1, -1), hidden)
# or the entire sequence at once: the last slice of "out" is "hidden"
inputs = torch.cat(inputs).view(len(inputs), 1, -1)
out, hidden = lstm(inputs, start)
print(out.shape, hidden[0].shape, hidden[1].shape)
print(torch.allclose(out[-1], hidden[0][0]))
stepped_sum = out.sum().item()


def prepare_sequence(seq, to_ix):
    idxs = [to_ix[w] for w in seq]
    return torch.tensor(idxs, dtype=torch.long)


training_data = [
    ("The dog ate the apple".split(), ["DET", "NN", "V", "DET", "NN"]),
    ("Everybody read that book".split(), ["NN", "V", "DET", "NN"]),
]
word_to_ix = {}
for sent, _tags in training_data:
    for word in sent:
        if word not in word_to_ix:
            word_to_ix[word] = len(word_to_ix)
print(word_to_ix)
tag_to_ix = {"DET": 0, "NN": 1, "V": 2}
EMBEDDING_DIM = 6
HIDDEN_DIM = 6


class LSTMTagger(nn.Module):
    def __init__(self, embedding_dim, hidden_dim, vocab_size, tagset_size):
        super().__init__()
        self.hidden_dim = hidden_dim
        self.word_embeddings = nn.Embedding(vocab_size, embedding_dim)
        # the LSTM takes word embeddings as inputs and outputs hidden states of hidden_dim
        self.lstm = nn.LSTM(embedding_dim, hidden_dim)
        self.hidden2tag = nn.Linear(hidden_dim, tagset_size)

    def forward(self, sentence):
        embeds = self.word_embeddings(sentence)
        lstm_out, _ = self.lstm(embeds.view(len(sentence), 1, -1))
        tag_space = self.hidden2tag(lstm_out.view(len(sentence), -1))
        tag_scores = F.log_softmax(tag_space, dim=1)
        return tag_scores


model = LSTMTagger(EMBEDDING_DIM, HIDDEN_DIM, len(word_to_ix), len(tag_to_ix))
init_from_numpy(model, seed=1, scale=0.5)
print(model)
loss_function = nn.NLLLoss()
optimizer = optim.SGD(model.parameters(), lr=0.1)

with torch.no_grad():
    inputs = prepare_sequence(training_data[0][0], word_to_ix)
    tag_scores = model(inputs)
    print(tag_scores.shape)

for epoch in range(200):
    for sentence, tags in training_data:
        model.zero_grad()
        sentence_in = prepare_sequence(sentence, word_to_ix)
        targets = prepare_sequence(tags, tag_to_ix)
        tag_scores = model(sentence_in)
        loss = loss_function(tag_scores, targets)
        loss.backward()
        optimizer.step()
    if epoch % 50 == 0:
        print(epoch, round(loss.item(), 5))

with torch.no_grad():
    inputs = prepare_sequence(training_data[0][0], word_to_ix)
    tag_scores = model(inputs)
    print(tag_scores.argmax(1).tolist())  # DET NN V DET NN: [0, 1, 2, 0, 1]
final_loss = loss.item() + abs(stepped_sum) * 1e-3
