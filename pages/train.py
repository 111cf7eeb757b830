"""Train: pick a text, set the hyperparameters, press Train and watch the network learn."""

import itertools
from urllib.parse import urlencode

import streamlit as st

from pages import common
from pages.limits import Caps
from pages.presets import CUSTOM, DEFAULT_PRESET, PRESETS, preset_text
from pages.state import CELL_NAMES, LIMITS, LOCKABLE, OPTIMIZER_NAMES, SETTING_NAMES, Settings, TrainingRun, describe_text, label, link_value, locked_from_link

# While training, the browser reruns the live view every TICK_SECONDS and each run trains for as
# long, in pieces of REDRAW_SECONDS in a worker process with a redraw after each: a rerun costs
# ~0.1 s, and a redraw overlaps the next piece. Pieces of 0.5 s cost +20% over the engine alone
# (benchmarks/app_speed.py), of 1 s +7-15%. A tick that comes early only ends a slice at its next
# redraw. Stop, another page or a closed tab end a slice when the piece in flight ends.
TICK_SECONDS = 4.0
SLICE_SECONDS = 4.0
REDRAW_SECONDS = 1.0
MAX_TEXT_IN_LINK = 2000
STEP_MODE_MAX_CHARS = 5000
DEFAULTS = Settings()
BOUND_KEYS = {"preset", "text", "present", *SETTING_NAMES}

raw_params = common.link_parameters()  # before any widget, to tell which link values were refused
if "locked" not in st.session_state:  # a presenter link's locks hold for the whole session
    st.session_state["locked"] = locked_from_link(raw_params)
LOCKED, TEXT_LOCKED, REFUSED_LOCKS = st.session_state["locked"]


def _pick_preset():
    key = st.session_state["preset"]
    if key != CUSTOM:
        st.session_state["text"] = preset_text(key)


def _text_edited():
    if st.session_state.get("preset") != CUSTOM and st.session_state["text"] != preset_text(st.session_state["preset"]):
        st.session_state["preset"] = CUSTOM


def _text_uploaded():
    uploaded = st.session_state.get("text_upload")
    if uploaded is None:
        return
    data = uploaded.getvalue()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        st.session_state["text_upload_error"] = f"{uploaded.name} is not UTF-8 text, so it was not loaded. Your text is unchanged."
        return
    if "\0" in text:
        st.session_state["text_upload_error"] = f"{uploaded.name} looks like a binary file, not text. Your text is unchanged."
        return
    st.session_state["text_upload_error"] = None
    st.session_state["text"] = text
    st.session_state["preset"] = CUSTOM


def locked_text():
    """The text a presenter link fixed: its preset's, or the text it carries. Returns (text, preset)."""
    if "locked_text" not in st.session_state:
        presets = {PRESETS[key][0]: key for key in PRESETS}
        preset = presets.get(raw_params.get("preset"), CUSTOM if raw_params.get("text") else DEFAULT_PRESET)
        st.session_state["locked_text"] = (raw_params.get("text", "") if preset == CUSTOM else preset_text(preset), preset)
    text, preset = st.session_state["locked_text"]
    st.caption(("The presenter chose this text: " + PRESETS[preset][0]) if preset != CUSTOM else "The presenter chose this text.")
    st.code(text[:3000] + ("…" if len(text) > 3000 else ""), language=None, wrap_lines=True, height=180)
    return text, preset


def text_controls():
    """The training text: preset, text area, upload. Returns (text, preset)."""
    if TEXT_LOCKED:
        return locked_text()
    options = [*PRESETS, CUSTOM]
    preset = st.selectbox(
        "Training text",
        options,
        index=options.index(DEFAULT_PRESET),
        format_func=lambda key: "Your own text" if key == CUSTOM else PRESETS[key][0],
        key="preset",
        on_change=_pick_preset,
        bind="query-params",
        persist_state="session",
    )
    if "text" not in st.session_state:
        link_text = raw_params.get("text") if preset == CUSTOM else None
        st.session_state["text"] = link_text if link_text else preset_text(preset) if preset != CUSTOM else ""
    if preset != CUSTOM:
        st.caption(PRESETS[preset][2])
    text = st.text_area("Text", key="text", height=180, on_change=_text_edited, help="Type or paste any text; editing a preset makes it your own.")
    st.file_uploader("…or upload a .txt file", type=["txt"], key="text_upload", on_change=_text_uploaded, max_upload_size=Caps.from_environment().upload_mb)
    if st.session_state.get("text_upload_error"):
        st.error(st.session_state["text_upload_error"])
    info = describe_text(text)
    shown = "".join(info["chars"]).replace("\n", "⏎").replace("\t", "⇥")
    st.caption(f"{info['length']:,} characters, {info['vocab_size']} distinct: `{shown[:300]}`")
    return text, preset


def _number(name, step, fmt=None):
    if name in LOCKED:
        return LOCKED[name]
    limit = LIMITS[name]
    default = getattr(DEFAULTS, name)
    kind = type(default)
    return st.number_input(
        label(name),
        min_value=kind(limit.low),
        max_value=kind(limit.high),
        value=default,
        step=kind(step),
        format=fmt,
        help=limit.help,
        key=name,
        bind="query-params",
        persist_state="session",
    )


def settings_controls():
    """Every hyperparameter, bound to the link. Returns Settings."""
    with st.sidebar:
        st.header("Settings")
        if LOCKED:
            st.caption("Set by the presenter: " + ", ".join(f"{label(name)} {link_value(name, value)}" for name, value in LOCKED.items()))
        cell = LOCKED["cell"] if "cell" in LOCKED else st.selectbox(
            "Cell", list(CELL_NAMES), index=list(CELL_NAMES).index(DEFAULTS.cell), format_func=CELL_NAMES.get, key="cell", bind="query-params", persist_state="session", help="RNN: one tanh. LSTM and GRU: gated cells that remember longer."
        )
        values = {"cell": cell}
        values["hidden_size"] = _number("hidden_size", 16)
        values["num_layers"] = _number("num_layers", 1)
        values["seq_len"] = _number("seq_len", 8)
        values["batch_size"] = _number("batch_size", 4)
        values["optimizer"] = LOCKED["optimizer"] if "optimizer" in LOCKED else st.selectbox(
            "Optimiser", list(OPTIMIZER_NAMES), index=list(OPTIMIZER_NAMES).index(DEFAULTS.optimizer), format_func=OPTIMIZER_NAMES.get, key="optimizer", bind="query-params", persist_state="session", help="How gradients become updates."
        )
        values["lr"] = _number("lr", 0.001, "%.5f")
        values["clip"] = _number("clip", 1.0, "%.2f")
        values["epochs"] = _number("epochs", 10)
        values["val_fraction"] = LOCKED["val_fraction"] if "val_fraction" in LOCKED else st.slider(
            label("val_fraction"), 0.0, LIMITS["val_fraction"].high, DEFAULTS.val_fraction, 0.05, help=LIMITS["val_fraction"].help, key="val_fraction", bind="query-params", persist_state="session"
        )
        values["bptt_horizon"] = _number("bptt_horizon", 1)
        values["seed"] = _number("seed", 1)
    return Settings(**values)


def share_link(text, preset, settings):
    """The link that reopens these settings; a short custom text travels in it too.

    A presenter can lock settings and the text: attendees who open the link do not see those
    controls, and with the same seed every one of them gets the same run, bit for bit.
    """
    if preset == CUSTOM and len(text) <= MAX_TEXT_IN_LINK:
        st.query_params["text"] = text
    elif "text" in st.query_params:
        del st.query_params["text"]
    with st.expander("Share these settings"):
        params = st.query_params.to_dict()
        locks = list(LOCKED) + (["text"] if TEXT_LOCKED else [])
        if not locks:
            locks = st.multiselect("Lock for attendees (presenter links)", list(LOCKABLE), format_func=lambda name: "Text" if name == "text" else label(name), key="lock_choice")
        if locks:
            params.update({name: link_value(name, getattr(settings, name)) for name in locks if name in SETTING_NAMES})
            params["preset"] = "Your own text" if preset == CUSTOM else PRESETS[preset][0]
            params["locked"] = ",".join(locks)
        st.code(f"{st.context.url}?{urlencode(params)}", language=None, wrap_lines=True)
        if preset == CUSTOM and len(text) > MAX_TEXT_IN_LINK:
            st.caption(f"Your text is longer than {MAX_TEXT_IN_LINK:,} characters, so the link carries the settings but not the text.")
        else:
            st.caption("Copy the link with the button at its right; it opens with the same text and settings.")


def start_new_run(text, settings, preset):
    st.session_state["confirm_discard"] = False  # answered, whether or not the new run can start
    try:
        run = TrainingRun(text, settings, preset=None if preset == CUSTOM else preset)
    except ValueError as error:
        st.session_state["train_error"] = str(error)
        return
    st.session_state["train_error"] = None
    common.set_run(run)
    run.start()


def controls(run, text, settings, preset):
    """Train / Stop / Resume / Reset, with a question before a trained model is thrown away."""
    columns = st.columns(4)
    if run is not None and run.training:
        if columns[0].button("Stop", key="stop_button", type="primary", width="stretch"):
            run.stop()
            st.rerun()
        return
    has_model = run is not None and (run.epoch > 0 or run.trainer.window > 0)
    if columns[0].button("Train from scratch" if has_model else "Train", key="train_button", type="primary", width="stretch"):
        if has_model:
            st.session_state["confirm_discard"] = True
        else:
            start_new_run(text, settings, preset)
            st.rerun()
    if run is not None and run.status in ("stopped", "done", "diverged"):
        if columns[1].button("Resume", key="resume_button", width="stretch", help="Continue the same run (same model, optimiser state and curve)."):
            try:
                run.resume(settings.epochs, lr=settings.lr, clip=settings.clip)
            except ValueError as error:
                st.session_state["train_error"] = str(error)
            else:
                st.session_state["train_error"] = None
                st.rerun()
    if run is not None or st.session_state.get("loaded_model") is not None:
        if columns[2].button("Reset", key="reset_button", width="stretch", help="Forget the model and its curve."):
            common.set_run(None)
            st.session_state["confirm_discard"] = False
            st.rerun()
    if not has_model:
        return
    changed = settings.changed_model_fields(run.settings) + (["Text"] if text != run.text else [])
    if st.session_state.get("confirm_discard"):
        reason = f" ({', '.join(changed)} changed)" if changed else ""
        st.warning(f"Start a new run{reason}? The model trained for {run.epoch} epochs will be thrown away. Download it first to keep it.")
        yes, no = st.columns(2)
        if yes.button("Discard it and train", key="confirm_button", type="primary"):
            start_new_run(text, settings, preset)
            st.rerun()
        if no.button("Keep it", key="cancel_button"):
            st.session_state["confirm_discard"] = False
            st.rerun()
    elif changed:
        st.info(f"Changed since this model was trained: {', '.join(changed)}. Resume continues the current model; Train from scratch starts over with the new settings.")


def step_mode(run, text, settings, preset):
    """One training step at a time, opened up; for short texts."""
    from pages.step_view import show_step  # pandas and the step's charts load only for Step mode

    stepped_text = text if run is None else run.text  # a step continues the current run
    if len(stepped_text) > STEP_MODE_MAX_CHARS:
        st.warning(f"Step mode is for short texts (up to {STEP_MODE_MAX_CHARS:,} characters); this one has {len(stepped_text):,}. Pick a shorter text, such as help!.")
        return
    if run is not None and run.training:
        st.info("Stop training to take steps one at a time.")
        return
    if st.button("Take one step", key="step_button", type="primary", help="One window: forward, backward, clip, update. The model is the one Train and Resume use."):
        if run is None:
            try:
                run = TrainingRun(text, settings, preset=None if preset == CUSTOM else preset)
            except ValueError as error:
                st.session_state["train_error"] = str(error)
                st.rerun()
            common.set_run(run)
        st.session_state["step_details"] = (run.run_id, run.epoch, run.trainer.window, run.step_in_detail())
    shown = st.session_state.get("step_details")
    if run is None or shown is None or shown[0] != run.run_id:
        st.caption("Each press trains the model on one window of the text and shows what that step computed.")
        return
    _, epoch, window, details = shown
    if details is None:
        st.error(run.message)
        return
    show_step(details, run.vocab, f"Epoch {epoch + 1}, step {window + 1} of {run.trainer.steps_per_epoch}")


def format_seconds(seconds):
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def draw_run(run, boxes, draw_number):
    """Progress, loss curve and the latest sample, into the three placeholders."""
    progress_box, chart_box, sample_box = boxes
    with run.lock:
        history = list(run.history)
        curve = run.curve()
        samples = list(run.samples)
        fraction = run.trainer.epoch_fraction
    caption = f"Epoch {fraction:.1f} of {run.target_epochs}"
    if history:
        last = history[-1]
        val = f", validation {last.val_bpc:.3f}" if last.val_bpc is not None else ""
        caption += f" · {last.chars_per_sec:,.0f} characters per second · loss {last.train_bpc:.3f} bits/char{val}"
    if run.training and run.eta_seconds is not None:
        caption += f" · about {format_seconds(run.eta_seconds)} left"
    if run.training and run.waiting:
        caption = "Waiting for a free training slot: the server is busy, your turn comes within seconds · " + caption
    progress_box.progress(min(fraction / run.target_epochs, 1.0), text=caption)
    if not curve["train"]:
        return  # nothing to plot yet: a room of sessions waiting their turn loads no charts
    # a key unique within this run: a placeholder redrawn with the same key would clash
    chart_box.plotly_chart(common.loss_figure(curve, height=430 if presenting else 360), key=f"loss_chart_{draw_number}", config={"displayModeBar": False})
    if samples:
        epoch, text = samples[-1]
        with sample_box.container():
            st.markdown(f"**Sample after epoch {epoch}**")
            st.code(text, language=None, wrap_lines=True)


@st.fragment(run_every=TICK_SECONDS if common.current_run() is not None and common.current_run().training else None)
def live_view():
    run = common.current_run()
    if run is None:
        st.info("Press **Train** to start. The loss curve, progress and samples appear here as the network learns.")
        return
    error_box = st.empty()
    if presenting:  # the curve and the live sample side by side, large
        progress_box = st.empty()
        chart_column, sample_column = st.columns([3, 2], gap="large")
        boxes = (progress_box, chart_column.empty(), sample_column.empty())
    else:
        boxes = (st.empty(), st.empty(), st.empty())
    draws = itertools.count()
    draw_run(run, boxes, next(draws))
    run.advance(SLICE_SECONDS, redraw=lambda: draw_run(run, boxes, next(draws)), redraw_every=REDRAW_SECONDS)
    draw_run(run, boxes, next(draws))
    if run.status == "diverged":
        error_box.error(run.message)
    if st.session_state.get("drawn_status") != run.status:
        st.rerun()  # training ended inside this fragment: redraw the buttons and stop the timer


# Readable from the back of a room on a 1280x720 projector.
BIG_SCREEN_CSS = """<style>
html { font-size: 22px; }
[data-testid="stMainBlockContainer"] { padding-top: 1.5rem; }
[data-testid="stCode"] pre, [data-testid="stCode"] code { font-size: 1.25rem; line-height: 1.5; }
[data-testid="stProgress"] p { font-size: 1.2rem; }
</style>"""

presenting = st.sidebar.toggle("Big-screen view", key="present", bind="query-params", persist_state="session", help="Large type, the curve and the sample side by side, the text and sharing tucked away.")
if presenting:
    st.html(BIG_SCREEN_CSS)
else:
    st.title("Train a character-level RNN")
link_notice = st.empty()
settings = settings_controls()
left, right = (st.expander("Text and sharing"), st.container()) if presenting else st.columns([2, 3], gap="large")
with left:
    text, preset = text_controls()
    common.report_ignored_link_values(raw_params, BOUND_KEYS | {"locked"}, link_notice, free_keys={"text", "locked", *LOCKED, *(["preset"] if TEXT_LOCKED else [])})
    if REFUSED_LOCKS:
        link_notice.warning("The link asked to lock settings it could not: " + ", ".join(f"`{name}`" for name in REFUSED_LOCKS))
    share_link(text, preset, settings)
with right:
    run = common.current_run()
    controls(run, text, settings, preset)
    if st.session_state.get("train_error"):
        st.error(st.session_state["train_error"])
    if not presenting and st.toggle("Step mode", key="step_mode", help="Train one step at a time and see its predictions, losses, gradients through time and updates."):
        step_mode(run, text, settings, preset)
    run = common.current_run()
    common.keep_current_run()
    st.session_state["drawn_status"] = None if run is None else run.status
    live_view()
    if run is not None and not run.training and run.epoch > 0:
        common.download_model_button(run, key="download_model_train")
    with st.expander("Use a saved model"):
        common.upload_model_control("upload_model_train")
