"""The tutorial scripts under scripts/, in the order the tests run them."""

TUTORIALS = [
    "poly_tensor",
    "poly_autograd",
    "poly_custom_function",
    "poly_nn",
    "poly_optim",
    "poly_module",
    "dynamic_net",
    "nn_tutorial",
    "d2l_linreg_scratch",
    "d2l_linreg_concise",
    "d2l_softmax_scratch",
    "d2l_mlp_scratch",
    "d2l_mlp_concise",
    "quickstart",
    # written while probing tutorial habits (tests/torchcompat/test_tutorial_probes.py)
    "tensors_tutorial",
    "quickstart_dataset",
    "cnn_checkpoint",
    "train_eval_clip",
    "embedding_char_rnn",
    "lstm_tagger",
    "transformer_lm",
]
