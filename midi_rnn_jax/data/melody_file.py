"""Tokens -> a MIDI file: the inverse of the encoder, for sampled melodies."""

from __future__ import annotations

import miditoolkit
import numpy as np

from midi_rnn_jax.data.encoding import REST, STEPS_PER_QUARTER

DEFAULT_BPM = 120.0


DEFAULT_VELOCITY = 100


DEFAULT_TICKS_PER_BEAT = 480


# The text of the marker at a melody's last step boundary: a melody of the asked length, or a
# tune that its model ended.
END_MARKER, TUNE_END_MARKER = 'end', 'tune end'


def time_signature(bar_length: int, steps_per_quarter: int = STEPS_PER_QUARTER,
                   beat_unit: int | None = None) -> tuple[int, int]:
  """(numerator, denominator) of a bar of ``bar_length`` steps: in ``beat_unit``s (the
  denominator the melody's source had: 6/8, 4/2) when the bar is a whole number of them, else
  in quarters when it is a whole number of them (12 16ths: 3/4), else eighths or 16ths."""
  for denominator in (beat_unit, 4, 8, 16) if beat_unit else (4, 8, 16):
    beats = bar_length * denominator / (4 * steps_per_quarter)
    if beats == int(beats):
      return int(beats), denominator
  return bar_length, 4 * steps_per_quarter


def tokens_to_midi(tokens: np.ndarray, *, program: int = 0,
                   bpm: float = DEFAULT_BPM, velocity: int = DEFAULT_VELOCITY,
                   ticks_per_beat: int = DEFAULT_TICKS_PER_BEAT,
                   steps_per_quarter: int = STEPS_PER_QUARTER,
                   first_position: int = 0, bar_length: int | None = None,
                   beat_unit: int | None = None, tune_ended: bool = False
                   ) -> miditoolkit.MidiFile:
  """Inverse of the encoder: runs of one pitch become one note.

  The melody's first step falls at ``first_position`` in a bar of ``bar_length`` steps (4/4
  by default) whose time signature has ``beat_unit`` as its denominator (``time_signature``).
  A melody that starts mid-bar starts with a pickup: a first bar as long as the steps left in
  its bar, with its own time signature (a quarter's pickup in 3/4: 1/4, then 3/4), so the
  file is exactly as long as the melody and its bars fall on the file's bar lines. A marker at
  the final step boundary keeps trailing rests in the file's length; its text says whether the
  model ended the tune there (``tune_ended``).
  """
  tokens = np.asarray(tokens, dtype=np.int64)

  def tick(step) -> int:  # The nearest tick: no drift when a step is not a whole number of them.
    return (2 * int(step) * ticks_per_beat + steps_per_quarter) // (2 * steps_per_quarter)

  midi = miditoolkit.MidiFile(ticks_per_beat=ticks_per_beat)
  midi.tempo_changes = [miditoolkit.TempoChange(bpm, 0)]
  bar_length = bar_length or 4 * steps_per_quarter
  meter = time_signature(bar_length, steps_per_quarter, beat_unit)
  pickup = (bar_length - first_position) % bar_length
  if 0 < pickup < len(tokens):
    midi.time_signature_changes = [
        miditoolkit.TimeSignature(*time_signature(pickup, steps_per_quarter, beat_unit), 0),
        miditoolkit.TimeSignature(*meter, tick(pickup))]
  else:  # On a bar line, or too short to reach one.
    midi.time_signature_changes = [miditoolkit.TimeSignature(*meter, 0)]
  instrument = miditoolkit.Instrument(program=program, is_drum=False, name='melody')
  run_starts = np.flatnonzero(np.diff(tokens, prepend=-1))
  run_ends = np.append(run_starts[1:], len(tokens))
  for first, stop in zip(run_starts, run_ends):
    if tokens[first] != REST:
      instrument.notes.append(miditoolkit.Note(
          velocity=velocity, pitch=int(tokens[first]) - 1,
          start=tick(first), end=tick(stop)))
  midi.instruments = [instrument]
  midi.markers = [miditoolkit.Marker(TUNE_END_MARKER if tune_ended else END_MARKER,
                                     tick(len(tokens)))]
  return midi


def end_marker_steps(midi: miditoolkit.MidiFile,
                     steps_per_quarter: int = STEPS_PER_QUARTER) -> int | None:
  """The length in steps that ``tokens_to_midi`` wrote into a file's end marker (trailing
  rests included), or None for a file without one."""
  ends = [m.time for m in midi.markers if m.text in (END_MARKER, TUNE_END_MARKER)]
  return round(max(ends) * steps_per_quarter / midi.ticks_per_beat) if ends else None


def ended_by_model(midi: miditoolkit.MidiFile) -> bool:
  """Whether ``tokens_to_midi`` wrote the file as a tune that its model ended."""
  return any(m.text == TUNE_END_MARKER for m in midi.markers)
