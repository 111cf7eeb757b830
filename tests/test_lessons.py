"""Lessons: the files, their checks, and each step's promise kept by a real run."""

import json
import math
from dataclasses import replace

import pytest

from playground import lessons
from playground.lessons import Evidence, LessonError, RunFacts, Step, check_step, load_lessons, parse_lesson, repeat_length
from playground.presets import preset_text
from playground.state import Settings, TrainingRun
from rnn_core import sample

LESSONS, PROBLEMS = load_lessons()
RHYME = preset_text("rhyme")


def test_the_shipped_lessons_all_load_in_their_order():
    assert PROBLEMS == []
    assert list(LESSONS) == ["notebook", "temperature", "far-back", "memorising", "learning-rate", "beating-counting"]
    for lesson in LESSONS.values():
        assert lesson.title and lesson.about and len(lesson.steps) >= 2
        for step in lesson.steps:
            assert step.page in lessons.PAGES and step.check["kind"] in lessons.CHECKS
            if step.page == "train":
                assert step.text is not None and step.full_settings().check()


def test_a_step_carries_its_text_and_settings_as_a_presenter_link_does():
    step = LESSONS["notebook"].steps[1]
    params = step.link_parameters()
    assert params["preset"] == "help!" and params["cell"] == "RNN" and params["optimizer"] == "Adagrad" and params["bptt_horizon"] == "1"
    assert step.full_settings() == Settings(cell="rnn", hidden_size=100, seq_len=4, batch_size=1, optimizer="adagrad", lr=0.1, epochs=300, val_fraction=0.0, bptt_horizon=1)


def lesson_file(**changes):
    step = {"title": "One", "explain": "Look.", "do": "Press Train.", "preset": "help!", "settings": {"epochs": 5}, "check": {"kind": "loss_below", "bits": 1}}
    step.update(changes)
    return json.dumps({"title": "A lesson", "about": "About.", "steps": [step]})


@pytest.mark.parametrize(
    "body, words",
    [
        ("{not json", "is not valid JSON"),
        (json.dumps({"title": "No steps", "steps": []}), "needs a title and a list of steps"),
        (lesson_file(settings={"colour": "red"}), "unknown setting 'colour'"),
        (lesson_file(settings={"hidden_size": "lots"}), "hidden_size = 'lots' is not a value the Train page takes"),
        (lesson_file(settings={"cell": "Transformer"}), "cell = 'Transformer'"),
        (lesson_file(settings={"hidden_size": 100000}), "Hidden size must be between"),
        (lesson_file(preset="Moby Dick"), "no preset called 'Moby Dick'"),
        (lesson_file(check={"kind": "vibes"}), "the check must be an object whose kind is one of"),
        (lesson_file(check={"kind": "loss_below"}), "a loss_below check needs bits"),
        (lesson_file(page="settings"), "page must be one of"),
        (lesson_file(do=""), "has no 'do' text"),
        (lesson_file(options={"temperature": "hot"}), "badly typed Generate option 'temperature'"),
        (lesson_file(surprise=1), "unknown fields: surprise"),
    ],
)
def test_a_lesson_file_the_app_cannot_use_is_refused_saying_why(body, words):
    with pytest.raises(LessonError, match="bad.json") as refused:
        parse_lesson("bad", body)
    assert words in str(refused.value)


def test_a_folder_with_a_bad_lesson_loads_the_good_ones_and_names_the_bad(tmp_path):
    (tmp_path / "good.json").write_text(lesson_file(), encoding="utf-8")
    (tmp_path / "bad.json").write_text("{", encoding="utf-8")
    (tmp_path / "Bad Name.json").write_text(lesson_file(), encoding="utf-8")
    loaded, problems = load_lessons(tmp_path)
    assert list(loaded) == ["good"]
    assert len(problems) == 2 and any("bad.json is not valid JSON" in problem for problem in problems) and any("Bad Name.json" in problem for problem in problems)


# the checks, on made-up runs

STEP = Step("t", "e", "d", {"kind": "loss_below", "bits": 1.0}, preset="rhyme", text=RHYME, settings={"lr": 0.004, "epochs": 30})


def facts(train, val=(), status="done", settings=None, text=RHYME, samples=(), message=""):
    return RunFacts(settings or STEP.full_settings(), text, status, message, len(train), list(train), list(val), list(samples))


def outcome(check, evidence, step=STEP):
    return check_step(replace(step, check=check), evidence)


def test_loss_below_ticks_once_the_curve_passes_and_names_what_differs_before():
    check = {"kind": "loss_below", "bits": 1.0}
    assert outcome(check, Evidence()).note == "Press Set it up, then Train."
    assert not outcome(check, Evidence(current=facts([3, 1.5]))).done
    done = outcome(check, Evidence(current=facts([3, 1.5, 0.8, 0.7])))
    assert done.done and done.note == "done: 0.70 bits per character, below 1 from epoch 3 on (4 epochs)"
    other = outcome(check, Evidence(current=facts([0.5], settings=replace(STEP.full_settings(), lr=0.01))))
    assert not other.done and "learning rate" not in other.note and "lr 0.01, this step 0.004" in other.note
    assert "another text" in outcome(check, Evidence(current=facts([0.5], text="other"))).note


def test_stays_above_waits_for_the_end_then_ticks_with_the_best_loss():
    check = {"kind": "stays_above", "bits": 4.0}
    assert not outcome(check, Evidence(current=facts([4.8, 4.6], status="training"))).done
    assert outcome(check, Evidence(current=facts([4.8, 4.6]))).note == "done: after 2 epochs its best was 4.60 bits per character, never below 4"


def test_diverged_ticks_with_the_engines_message():
    check = {"kind": "diverged"}
    assert outcome(check, Evidence(current=facts([5.0], status="diverged", message="Training diverged at epoch 2."))).note == "done: Training diverged at epoch 2."
    assert "without diverging" in outcome(check, Evidence(current=facts([2.0]))).note


def test_the_validation_curve_turning_up_is_seen_only_while_training_keeps_falling():
    check = {"kind": "validation_turns_up", "rise": 0.5}
    assert not outcome(check, Evidence(current=facts([3, 2, 1], [3.0, 2.5, 2.6]))).done
    assert not outcome(check, Evidence(current=facts([3, 2, 3], [3.0, 2.5, 3.2]))).done  # training rose too: no memorising
    done = outcome(check, Evidence(current=facts([3, 2, 1], [3.0, 2.5, 3.2])))
    assert done.done and "lowest at epoch 2 (2.50 bits)" in done.note and "3.20 at epoch 3" in done.note


def test_copies_text_reads_the_marked_share_of_the_latest_sample():
    check = {"kind": "copies_text", "share": 0.5}
    copied = RHYME[:200]
    assert not outcome(check, Evidence(current=facts([1], samples=["zq" * 100]))).done
    done = outcome(check, Evidence(current=facts([1], samples=["zq" * 100, copied])))
    assert done.done and done.note.startswith("done: 100% of the latest sample") and "(the first copied 0%)" in done.note


def test_beats_baseline_compares_with_the_count_on_the_same_text():
    check = {"kind": "beats_baseline", "baseline": "bigram"}
    above = outcome(check, Evidence(current=facts([3.0], [3.0])))
    assert not above.done and "the bigram count gets 2.32" in above.note
    assert outcome(check, Evidence(current=facts([3.0, 1.0], [3.0, 1.0]))).note == "done: 1.00 bits per character, below the bigram count's 2.32 from epoch 2 on"


def test_repeat_length_finds_the_loop_greedy_decoding_falls_into():
    assert repeat_length("That ate the malt\n" * 3) == 18
    assert repeat_length("abcab" + "the " * 5) == 4
    assert repeat_length("a loop never closes") is None


def test_generated_reads_the_options_of_the_texts_generated():
    cold, greedy = {"kind": "generated", "temperature_at_most": 0.3}, {"kind": "generated", "greedy": True}
    warm_text = {"options": {"temperature": 0.8, "greedy": False}, "text": "zq" * 50}
    evidence = Evidence(current=facts([1.0]), generations=[warm_text])
    assert not outcome(cold, evidence).done and not outcome(greedy, evidence).done
    evidence.generations.append({"options": {"temperature": 0.8, "greedy": True}, "text": "That ate the malt\n" * 4})
    assert not outcome(cold, evidence).done  # greedy is no temperature at all
    assert outcome(greedy, evidence).note == "done: 100% of it is copied word for word from the text; it ends in a loop of 18 characters, over and over"


def test_kept_together_needs_a_run_of_each_value_on_the_steps_text():
    check = {"kind": "kept_together", "setting": "lr", "values": [0.0001, 0.1]}
    small = facts([4.5], settings=replace(STEP.full_settings(), lr=0.0001))
    large = facts([5.0], status="diverged", settings=replace(STEP.full_settings(), lr=0.1))
    assert "no run with lr 0.1" in outcome(check, Evidence(current=small)).note
    assert outcome(check, Evidence(current=large, kept=[small])).note == "done: 2 runs on one chart, lr 0.0001, 0.1: open Compare"


# each lesson's training steps keep their promise with the engine's own runs

TRAIN_CHECKS = [
    (key, number, step)
    for key, lesson in LESSONS.items()
    for number, step in enumerate(lesson.steps, 1)
    if step.page == "train" and step.check["kind"] in ("loss_below", "stays_above", "diverged", "validation_turns_up", "beats_baseline")
]


@pytest.mark.parametrize("key, number, step", TRAIN_CHECKS, ids=[f"{key}-{number}" for key, number, _ in TRAIN_CHECKS])
def test_each_training_step_is_done_by_the_run_it_sets_up(key, number, step):
    run = TrainingRun(step.text, step.full_settings())
    run.start()
    try:
        run.trainer.train(run.target_epochs)
    except Exception as error:  # a divergence: the service marks the run so
        run.status, run.message = "diverged", str(error)
    else:
        run.status = "done"
    result = check_step(step, Evidence(current=lessons.facts_from_run(run)))
    assert result.done and "your run learnt more than most" not in result.note, result.note


def test_the_temperature_lessons_model_copies_when_cold_and_loops_when_greedy():
    train_step, cold_step, hot_step, greedy_step = LESSONS["temperature"].steps
    run = TrainingRun(train_step.text, train_step.full_settings())
    run.trainer.train(run.target_epochs)
    evidence = Evidence(current=lessons.facts_from_run(run))
    for step in (cold_step, hot_step, greedy_step):
        options = step.options
        text = options["prime"] + sample(run.model, run.vocab, options["prime"], options["length"], temperature=options.get("temperature", 0.8), greedy=options["greedy"], seed=options["sample_seed"])
        evidence.generations.append({"options": {"temperature": 0.8, **options}, "text": text})
    cold, hot, greedy = (check_step(step, evidence) for step in (cold_step, hot_step, greedy_step))
    assert cold.done and hot.done and greedy.done
    assert copied_share(cold) > 0.8 and copied_share(hot) < 0.2, (cold.note, hot.note)
    assert "ends in a loop" in greedy.note and not math.isnan(copied_share(greedy))


def copied_share(outcome):
    """The share a generated check's note names ("done: 85% of it is copied...")."""
    return float(outcome.note.split("done: ")[1].split("%")[0]) / 100


def test_stepped_asks_for_a_step_of_a_run_on_the_steps_text():
    step = LESSONS["far-back"].steps[3]
    check = {"kind": "stepped"}
    assert "train a model on this step's text" in outcome(check, Evidence(current=facts([1.0])), step).note
    run_on_text = facts([1.0], text=step.text, settings=Settings(cell="lstm"))
    assert "turn on Step mode" in outcome(check, Evidence(current=run_on_text), step).note
    assert outcome(check, Evidence(current=run_on_text, stepped=True), step).note.startswith("done: Step mode shows the gradient through time of your LSTM")
