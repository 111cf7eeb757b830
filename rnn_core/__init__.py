"""A correct, fast, numpy-only character-level RNN engine (vanilla RNN, LSTM, GRU).

    from rnn_core import Vocab, CharRNN, Trainer, sample
    vocab = Vocab.from_text(text)
    model = CharRNN(len(vocab), hidden_size=128, cell="lstm")
    trainer = Trainer(model, vocab.encode(text), seq_len=64, batch_size=32, lr_schedule="cosine", warmup=100)
    trainer.train(epochs=5)
    print(sample(model, vocab, prime="The ", length=200))
"""

from .cells import CELLS
from .checkpoint import Checkpoint, CheckpointError, collection_to_bytes, load, load_many, save, save_many, to_bytes
from .gradcheck import gradient_check
from .model import CharRNN, ForwardResult, param_shapes
from .optim import OPTIMIZERS, SGD, Adagrad, Adam, Momentum, RMSProp, clip_by_global_norm, global_norm, make_optimizer
from .sample import next_char_probs, sample, sample_steps, sample_stream, sample_with_probs, shape_distribution
from .schedule import SCHEDULES, learning_rate_factor
from .train import DivergenceError, EpochStats, Trainer, evaluate, make_streams, split_validation
from .training_state import restore_training_state, training_state_to_bytes
from .vocab import UnknownCharactersError, Vocab

__all__ = [
    "CELLS",
    "Checkpoint",
    "CheckpointError",
    "collection_to_bytes",
    "load",
    "load_many",
    "save",
    "save_many",
    "to_bytes",
    "gradient_check",
    "CharRNN",
    "ForwardResult",
    "param_shapes",
    "OPTIMIZERS",
    "SGD",
    "Adagrad",
    "Adam",
    "Momentum",
    "RMSProp",
    "clip_by_global_norm",
    "global_norm",
    "make_optimizer",
    "next_char_probs",
    "sample",
    "sample_steps",
    "sample_stream",
    "sample_with_probs",
    "shape_distribution",
    "SCHEDULES",
    "learning_rate_factor",
    "DivergenceError",
    "EpochStats",
    "evaluate",
    "Trainer",
    "restore_training_state",
    "training_state_to_bytes",
    "make_streams",
    "split_validation",
    "UnknownCharactersError",
    "Vocab",
]
