"""midi_rnn_jax: train an LSTM on MIDI melodies and sample new ones (JAX/Flax midi-rnn)."""
