"""Dict samples batch per key, and RandomSampler's num_samples beyond the data's length, as
PyTorch's DataLoader and RandomSampler do."""

import collections

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


class DictSamples(cr.utils.data.Dataset):
    def __len__(self):
        return 5

    def __getitem__(self, i):
        return {"x": np.array([i, i + 1.0], np.float32), "y": i}


@pytest.mark.parametrize("loader", [cr.utils.data.DataLoader, cr.data.DataLoader])
def test_dict_samples_give_a_dict_of_batches(loader):
    batches = list(loader(DictSamples(), batch_size=2))
    assert [type(b) for b in batches] == [dict] * 3
    reference = list(torch.utils.data.DataLoader(DictSamples(), batch_size=2))
    for ours, theirs in zip(batches, reference):
        assert list(ours) == list(theirs)
        for key in ours:
            np.testing.assert_array_equal(ours[key].numpy(), theirs[key].numpy())
            assert str(ours[key].dtype) == str(theirs[key].dtype).replace("torch.", "")


def test_random_sampler_draws_num_samples_beyond_the_length_in_whole_permutations():
    sampler = cr.utils.data.RandomSampler(range(5), num_samples=12, generator=cr.Generator(0))
    drawn = list(sampler)
    assert len(sampler) == len(drawn) == 12
    assert sorted(drawn[:5]) == sorted(drawn[5:10]) == list(range(5))
    assert max(collections.Counter(drawn).values()) == 3
    data = cr.utils.data.TensorDataset(np.arange(5.0))
    loader = cr.utils.data.DataLoader(data, batch_size=4, sampler=sampler)
    assert len(loader) == len(list(loader)) == 3
    with pytest.raises(ValueError, match="positive integer"):
        cr.utils.data.RandomSampler(range(5), num_samples=0)
