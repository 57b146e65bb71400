# After PyTorch's "Language Modeling with nn.Transformer" tutorial: positional encoding, an
# Embedding, nn.TransformerEncoder with a causal mask, a Linear decoder, trained with SGD,
# clip_grad_norm_ and StepLR. The corpus is a small synthetic token stream and dropout is 0
# (the two libraries draw different dropout masks); starting weights come from NumPy.
import math

import numpy as np
import torch
from same_start import init_from_numpy
from torch import nn


class PositionalEncoding(nn.Module):
    def __init__(self, d_model, dropout=0.1, max_len=5000):
        super().__init__()
        self.dropout = nn.Dropout(p=dropout)
        position = torch.arange(max_len).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
        pe = torch.zeros(max_len, 1, d_model)
        pe[:, 0, 0::2] = torch.sin(position * div_term)
        pe[:, 0, 1::2] = torch.cos(position * div_term)
        self.register_buffer("pe", pe)

    def forward(self, x):
        x = x + self.pe[: x.size(0)]  # x: (seq_len, batch_size, embedding_dim)
        return self.dropout(x)


class TransformerModel(nn.Module):
    def __init__(self, ntoken, d_model, nhead, d_hid, nlayers, dropout=0.5):
        super().__init__()
        self.model_type = "Transformer"
        self.pos_encoder = PositionalEncoding(d_model, dropout)
        encoder_layers = nn.TransformerEncoderLayer(d_model, nhead, d_hid, dropout)
        self.transformer_encoder = nn.TransformerEncoder(encoder_layers, nlayers)
        self.embedding = nn.Embedding(ntoken, d_model)
        self.d_model = d_model
        self.linear = nn.Linear(d_model, ntoken)

    def forward(self, src, src_mask=None):
        src = self.embedding(src) * math.sqrt(self.d_model)
        src = self.pos_encoder(src)
        if src_mask is None:
            src_mask = nn.Transformer.generate_square_subsequent_mask(len(src))
        output = self.transformer_encoder(src, src_mask)
        return self.linear(output)


ntokens, bptt = 12, 8
stream = torch.tensor(np.tile(np.arange(ntokens), 20)[:200], dtype=torch.long)
data = stream[: (len(stream) // 4) * 4].view(4, -1).t().contiguous()  # batchify: (seq, 4)


def get_batch(source, i):
    seq_len = min(bptt, len(source) - 1 - i)
    return source[i : i + seq_len], source[i + 1 : i + 1 + seq_len].reshape(-1)


model = TransformerModel(ntokens, d_model=16, nhead=2, d_hid=32, nlayers=2, dropout=0.0)
init_from_numpy(model, seed=3, scale=0.3)
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1.0, gamma=0.95)
print(model.transformer_encoder.layers[0].self_attn)
for epoch in range(3):
    model.train()
    for i in range(0, data.size(0) - 1, bptt):
        inputs, targets = get_batch(data, i)
        output = model(inputs)
        loss = criterion(output.view(-1, ntokens), targets)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
        optimizer.step()
    scheduler.step()
    print(epoch, round(loss.item(), 4))

model.eval()
with torch.no_grad():
    inputs, targets = get_batch(data, 0)
    eval_loss = criterion(model(inputs).view(-1, ntokens), targets).item()
print("eval", round(eval_loss, 4))
final_loss = loss.item() + eval_loss
