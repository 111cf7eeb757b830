"""Train: pick a text, set the hyperparameters, press Train and watch the network learn."""

from urllib.parse import urlencode

import streamlit as st

from playground import analysis
from playground.ui import common, rooms
from playground.limits import Caps
from playground.presets import CUSTOM, DEFAULT_PRESET, PRESETS, preset_key, preset_text
from playground.state import CELL_NAMES, LIMITS, LOCKABLE, OPTIMIZER_NAMES, SCHEDULE_NAMES, SETTING_NAMES, Settings, TrainingRun, describe_text, label, link_value, locked_from_link
from playground.plain_text import char_name, code_span, escape_markdown

# The training service trains; the live view only redraws the run's state, this often. Only the
# runs in a worker at the moment (as many as there are workers) redraw often; a room of runs
# waiting their turn redraws seldom, so the server's time goes to the pages people open.
LIVE_SECONDS = 1.0
WAITING_SECONDS = 2.0  # the waiting view redraws a line of text, not the chart
NEXT_IN_LINE = 2
FIRST_POINT_WAIT_SECONDS = 1.5  # a new run's first piece ends at its first point, within a second here
# A custom text travels in the link while the link stays short enough for every server and proxy
# on the way to open it (uvicorn refuses a request line over 16 KB, nginx over 8 KB by default).
MAX_TEXT_IN_LINK = 5000  # characters of the text once encoded for the link
STEP_MODE_MAX_CHARS = 5000
DEFAULTS = Settings()
BOUND_KEYS = {"preset", "text", "present", *SETTING_NAMES}

raw_params = common.link_parameters(number_keys=LIMITS)  # before any widget, to tell which link values were refused
if "locked" not in st.session_state:  # a presenter link's locks hold for the whole session
    st.session_state["locked"] = locked_from_link(raw_params)
LOCKED, TEXT_LOCKED, REFUSED_LOCKS = st.session_state["locked"]


def _apply_preset_settings(key, keep=()):
    """Give the settings widgets what preset `key` needs; the previous preset's own settings go back to the defaults.

    Settings a presenter locked, and those named in `keep`, are left as they are.
    """
    previous = PRESETS[st.session_state["preset_applied"]].settings if st.session_state.get("preset_applied") in PRESETS else {}
    wanted = PRESETS[key].settings if key in PRESETS else {}
    for name in {*previous, *wanted} - set(LOCKED) - set(keep):
        st.session_state[name] = wanted.get(name, getattr(DEFAULTS, name))
    st.session_state["preset_applied"] = key


def _pick_preset():
    key = st.session_state["preset"]
    if key != CUSTOM:
        st.session_state["text"] = preset_text(key)
        _apply_preset_settings(key)


def preset_settings_note(key):
    """What a preset sets, in words, or "" when it trains with the defaults."""
    settings = PRESETS[key].settings
    if not settings:
        return ""
    shown = ", ".join(f"{label(name).lower()} {link_value(name, value)}" for name, value in settings.items() if name not in LOCKED)
    return f" It sets {shown}." if shown else ""


if "preset_applied" not in st.session_state:  # a session's first run: what the link asks for
    if "text" in raw_params and "preset" not in raw_params:
        st.session_state["preset"] = CUSTOM  # a link with a text means that text
    _apply_preset_settings(preset_key(raw_params.get("preset")) or (CUSTOM if "text" in raw_params else DEFAULT_PRESET), keep=raw_params)


def _text_edited():
    if st.session_state.get("preset") != CUSTOM and st.session_state["text"] != preset_text(st.session_state["preset"]):
        st.session_state["preset"] = CUSTOM
        st.session_state["text_notice"] = None


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
    # A browser's text area turns every line ending into \n, so the first edit would change a
    # Windows text silently: it is made so once, here, and the page says so.
    normalised = text.replace("\r\n", "\n").replace("\r", "\n")
    st.session_state["text_notice"] = (
        f"{uploaded.name} had Windows or old Mac line endings (\\r\\n or \\r); they are now plain line breaks, "
        f"{len(text) - len(normalised):,} characters fewer ({len(normalised):,} in all)."
        if normalised != text
        else None
    )
    st.session_state["text_upload_error"] = None
    st.session_state["text"] = normalised
    st.session_state["preset"] = CUSTOM


def locked_text():
    """The text a presenter link fixed: its preset's, or the text it carries. Returns (text, preset)."""
    if "locked_text" not in st.session_state:
        preset = preset_key(raw_params.get("preset")) or (CUSTOM if raw_params.get("text") else DEFAULT_PRESET)
        st.session_state["locked_text"] = (raw_params.get("text", "") if preset == CUSTOM else preset_text(preset), preset)
    text, preset = st.session_state["locked_text"]
    st.caption(("The presenter chose this text: " + PRESETS[preset].label) if preset != CUSTOM else "The presenter chose this text.")
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
        format_func=lambda key: "Your own text" if key == CUSTOM else PRESETS[key].label,
        key="preset",
        on_change=_pick_preset,
        bind="query-params",
        persist_state="session",
    )
    if "text" not in st.session_state:
        link_text = raw_params.get("text") if preset == CUSTOM else None
        st.session_state["text"] = link_text if link_text else preset_text(preset) if preset != CUSTOM else ""
    if preset != CUSTOM:
        st.caption(PRESETS[preset].about + preset_settings_note(preset))
    text = st.text_area("Text", key="text", height=180, on_change=_text_edited, help="Type or paste any text; editing a preset makes it your own.")
    st.file_uploader("…or upload a .txt file", type=["txt"], key="text_upload", on_change=_text_uploaded, max_upload_size=Caps.from_environment().upload_mb)
    if st.session_state.get("text_upload_error"):
        st.error(escape_markdown(st.session_state["text_upload_error"]))
    if st.session_state.get("text_notice"):
        st.info(escape_markdown(st.session_state["text_notice"]))
    info = describe_text(text)
    shown = " ".join(char_name(char) for char in info["chars"][:300]) + (" …" if info["vocab_size"] > 300 else "")
    st.caption(f"{info['length']:,} characters, {info['vocab_size']} distinct: {escape_markdown(shown)}")
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
        values["lr_schedule"] = LOCKED["lr_schedule"] if "lr_schedule" in LOCKED else st.selectbox(
            label("lr_schedule"), list(SCHEDULE_NAMES), index=list(SCHEDULE_NAMES).index(DEFAULTS.lr_schedule), format_func=SCHEDULE_NAMES.get, key="lr_schedule", bind="query-params", persist_state="session",
            help="Constant, or decaying over the run's epochs to a final fraction of the learning rate (char-rnn's learning_rate_decay). The rate of each point shows when you hover the curve.",
        )
        values["lr_final"] = _number("lr_final", 0.05, "%.3f")
        values["warmup"] = _number("warmup", 10)
        values["clip"] = _number("clip", 1.0, "%.2f")
        values["epochs"] = _number("epochs", 10)
        values["val_fraction"] = LOCKED["val_fraction"] if "val_fraction" in LOCKED else st.slider(
            label("val_fraction"), 0.0, LIMITS["val_fraction"].high, DEFAULTS.val_fraction, 0.05, help=LIMITS["val_fraction"].help, key="val_fraction", bind="query-params", persist_state="session"
        )
        values["dropout"] = _number("dropout", 0.05, "%.2f")
        values["bptt_horizon"] = _number("bptt_horizon", 1)
        values["seed"] = _number("seed", 1)
    return Settings(**values)


def share_link(text, preset, settings):
    """The link that reopens these settings; a short custom text travels in it too.

    A presenter can lock settings and the text: attendees who open the link do not see those
    controls, and with the same seed every one of them gets the same run, bit for bit.
    """
    text_travels = preset == CUSTOM and len(urlencode({"text": text})) <= MAX_TEXT_IN_LINK
    if text_travels:
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
            params["preset"] = "Your own text" if preset == CUSTOM else PRESETS[preset].label
            params["locked"] = ",".join(locks)
        room = rooms.presenter_control()  # attendees who open the link join it
        if room is not None:
            params["room"] = room
        st.code(f"{st.context.url}?{urlencode(params)}", language=None, wrap_lines=True)
        if preset == CUSTOM and not text_travels:
            st.caption(
                f"Your text is too long to travel in a link ({len(text):,} characters; a link holds about {MAX_TEXT_IN_LINK:,} once encoded), "
                "so the link carries the settings but not the text. Share the text as a file."
            )
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
    common.service().train(common.my_runs(), run)


def controls(run, text, settings, preset):
    """Train / Stop / Resume / Reset, with a question before a trained model is thrown away."""
    columns = st.columns(4)
    if run is not None and run.training:
        if columns[0].button("Stop", key="stop_button", type="primary", width="stretch"):
            common.service().stop(run)
            st.rerun()
        return
    has_model = run is not None and (run.epoch > 0 or run.trainer.window > 0)
    if columns[0].button("Train from scratch" if has_model else "Train", key="train_button", type="primary", width="stretch"):
        if has_model:
            st.session_state["confirm_discard"] = True
        else:
            start_new_run(text, settings, preset)
            st.rerun()
    if run is not None and run.status in ("stopped", "paused", "done", "diverged"):
        if columns[1].button("Resume", key="resume_button", width="stretch", help="Continue the same run (same model, optimiser state and curve)."):
            st.session_state["confirm_discard"] = False  # resuming answers the question
            try:
                run.resume(settings.epochs, lr=settings.lr, clip=settings.clip)
            except ValueError as error:
                st.session_state["train_error"] = str(error)
            else:
                st.session_state["train_error"] = None
                common.service().train(common.my_runs(), run)
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
        if run.epoch > 0:
            fate = f"The current run, trained for {run.trained_for}, stays on the Compare page."
        else:
            fate = f"The current model, trained for {run.trained_for}, has not finished an epoch and will be thrown away."
        st.warning(f"Start a new run{reason}? {fate}")
        yes, no = st.columns(2)
        if yes.button("Start the new run", key="confirm_button", type="primary"):
            start_new_run(text, settings, preset)
            st.rerun()
        if no.button("Keep training this one", key="cancel_button"):
            st.session_state["confirm_discard"] = False
            st.rerun()
    elif changed:
        st.info(f"Changed since this model was trained: {', '.join(changed)}. Resume continues the current model; Train from scratch starts over with the new settings.")


def step_mode(run, text, settings, preset):
    """One training step at a time, opened up; for short texts."""
    from playground.ui.step_view import show_step  # pandas and the step's charts load only for Step mode

    stepped_text = text if run is None else run.text  # a step continues the current run
    if len(stepped_text) > STEP_MODE_MAX_CHARS:
        st.warning(f"Step mode is for short texts (up to {STEP_MODE_MAX_CHARS:,} characters); this one has {len(stepped_text):,}. Pick a shorter text, such as help!.")
        return
    if run is not None and (run.training or run.in_flight):
        st.info("Stop training to take steps one at a time." if run.training else "The last piece of training is landing: take a step in a moment.")
        return
    if st.button("Take one step", key="step_button", type="primary", help="One window: forward, backward, clip, update. The model is the one Train and Resume use."):
        st.session_state["confirm_discard"] = False
        if run is None:
            try:
                run = TrainingRun(text, settings, preset=None if preset == CUSTOM else preset)
            except ValueError as error:
                st.session_state["train_error"] = str(error)
                st.rerun()
            common.set_run(run)
        epoch, window = run.epoch, run.trainer.window
        details = run.step_in_detail()
        common.service().save(common.my_runs(), run)
        st.session_state["step_details"] = (run.run_id, epoch, window, details, (run.epoch, run.trainer.window))
    shown = st.session_state.get("step_details")
    # a step's details are shown while the model is still the one that step left (not after Resume)
    if run is None or shown is None or shown[0] != run.run_id or shown[4] != (run.epoch, run.trainer.window):
        st.caption("Each press trains the model on one window of the text and shows what that step computed.")
        return
    _, epoch, window, details, _ = shown
    if details is None:
        st.error(run.message)
        return
    show_step(details, run.vocab, f"Epoch {epoch + 1}, step {window + 1} of {run.trainer.steps_per_epoch}")


def format_seconds(seconds):
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def draw_progress(run, progress_box):
    """The progress bar and its line: epoch, speed, loss, time left, place in the queue."""
    with run.lock:
        last = run.history[-1] if run.history else None
        fraction = run.trainer.epoch_fraction
    caption = f"Epoch {fraction:.1f} of {run.target_epochs}"
    if last is not None:
        val = f", validation {last.val_bpc:.3f}" if last.val_bpc is not None else ""
        caption += f" · {last.chars_per_sec:,.0f} characters per second · loss {last.train_bpc:.3f} bits/char{val}"
    if run.training and run.eta_seconds is not None:
        caption += f" · about {format_seconds(run.eta_seconds)} left"
    place = common.service().queue_place(run) if run.training else None
    if place:
        caption = f"Waiting for a free worker: {common.ordinal(place)} in line, your turn comes within seconds · " + caption
    progress_box.progress(min(fraction / run.target_epochs, 1.0), text=caption)


def draw_curve_and_sample(run, chart_box, sample_box):
    """The loss curve and the latest sample, into their placeholders."""
    with run.lock:
        curve = run.curve()
        samples = list(run.samples)
    baselines = analysis.baselines(run.text, run.settings.val_fraction)
    with chart_box.container():
        st.plotly_chart(common.loss_figure(curve, height=430 if presenting else 360, font_size=18 if presenting else None, baselines=baselines), key="loss_chart", config={"displayModeBar": False})
        st.caption(common.BASELINE_CAPTION)
    if samples:
        epoch, text = samples[-1]
        with sample_box.container():
            st.markdown(f"**Sample after epoch {epoch}**")
            common.show_sample(text, run.text, copy_length, prime=run.prime)


def run_boxes():
    """Placeholders for the message, progress, curve and sample, laid out for the screen in use."""
    error_box, progress_box = st.empty(), st.empty()
    if presenting:  # the curve and the live sample side by side, large
        chart_column, sample_column = st.columns([3, 2], gap="large")
        return error_box, progress_box, chart_column.empty(), sample_column.empty()
    return error_box, progress_box, st.empty(), st.empty()


def show_message(run, error_box):
    if run.message:
        (error_box.error if run.status == "diverged" else error_box.info)(escape_markdown(run.message))


def live_interval():
    """How often the live view redraws: never while nothing trains, seldom while it waits for a worker,
    else once a second; less often in a full room (TrainingService.watch_interval)."""
    run = common.current_run()
    if run is None or not run.training:
        return None
    return common.service().watch_interval(WAITING_SECONDS if waits_long(run) else LIVE_SECONDS)


def waits_long(run):
    """Whether the run waits behind others for a worker. Next in line it stays live: with a few runs
    per worker each one waits a moment between its turns, and the page would switch views each time."""
    place = common.service().queue_place(run)
    return place is not None and place > NEXT_IN_LINE


def wait_for_news(run):
    """Hold this redraw on the server until a new run's first point, or an end due before the next tick, has come."""
    if not run.training or common.service().queue_place(run) is not None:
        return
    if not run.trainer.progress:
        common.wait_for(lambda: run.trainer.progress or not run.training, FIRST_POINT_WAIT_SECONDS)
    if run.training and run.eta_seconds is not None and run.eta_seconds < LIVE_SECONDS:
        common.wait_for(lambda: not run.training, run.eta_seconds + 0.5)


def live_section():
    """The run's progress, curve and sample: live while it trains in a worker, its place in line while it waits."""
    run = common.current_run()
    if run is not None and run.training and waits_long(run):
        waiting_view(run)
    else:
        live_view()


@st.fragment(run_every=live_interval())
def live_view():
    run = common.current_run()
    if run is None:
        st.info("Press **Train** to start. The loss curve, progress and samples appear here as the network learns.")
        # the empty axes load the chart's code now, not when the first point comes (0.9 s here)
        st.plotly_chart(common.loss_figure({"train": [], "val": []}, height=430 if presenting else 360), key="loss_chart", config={"displayModeBar": False})
        return
    wait_for_news(run)
    if st.session_state.get("drawn_status") != run.status:
        st.rerun()  # training ended (or began, in another tab): the page redraws it all, buttons included
    error_box, progress_box, chart_box, sample_box = run_boxes()
    draw_progress(run, progress_box)
    draw_curve_and_sample(run, chart_box, sample_box)
    show_message(run, error_box)
    if st.session_state.get("drawn_interval") != live_interval():
        st.rerun()  # it waits for a worker now: the waiting view takes over


def waiting_view(run):
    """While the run waits for a worker, only its place in line is redrawn: its curve cannot change.

    In a full room most runs wait; a timer that redrew each one's chart cost the server the time
    a new visitor's page needed.
    """
    error_box, progress_box, chart_box, sample_box = run_boxes()
    with progress_box.container():
        st.fragment(waiting_progress, run_every=st.session_state["drawn_interval"] or WAITING_SECONDS)()
    draw_curve_and_sample(run, chart_box, sample_box)
    show_message(run, error_box)


def waiting_progress():
    run = common.current_run()
    if run is None or st.session_state.get("drawn_status") != run.status or not waits_long(run):
        st.rerun()  # its turn came, or it stopped: the live view takes over
    draw_progress(run, st.empty())


# The progress bar's half-second glide, redrawn each second, cost the browser (and so the worker on
# the same cores) as much as the loss chart did
st.html("<style>[data-testid=stProgress] div { transition: none !important; }</style>")
copy_length = common.copy_length()
presenting = st.sidebar.toggle("Big-screen view", key="present", bind="query-params", persist_state="session", help="Large type, the curve and the sample side by side, the text and sharing tucked away.")
if not presenting:  # the big screen's room sees the curve, not the page's title (its type: streamlit_app.py)
    st.title("Train a character-level RNN")
link_notice = st.empty()
settings = settings_controls()
left, right = (st.expander("Text and sharing"), st.container()) if presenting else st.columns([2, 3], gap="large")
with left:
    text, preset = text_controls()
    # a link value equal to the default is taken, and Streamlit then drops it from the address bar
    defaults_in_link = {name for name in SETTING_NAMES if raw_params.get(name) == link_value(name, getattr(DEFAULTS, name))}
    if raw_params.get("preset") == PRESETS[DEFAULT_PRESET].label:
        defaults_in_link.add("preset")
    common.report_ignored_link_values(raw_params, BOUND_KEYS | {"locked"}, link_notice, free_keys={"text", "locked", *LOCKED, *defaults_in_link, *(["preset"] if TEXT_LOCKED else [])})
    if REFUSED_LOCKS:
        link_notice.warning("The link asked to lock settings it could not: " + ", ".join(code_span(name) for name in REFUSED_LOCKS))
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
    st.session_state["drawn_interval"] = live_interval()
    live_section()
    if run is not None and not run.training and run.epoch > 0:
        common.download_model_button(run, key="download_model_train")
    with st.expander("Use a saved model"):
        common.upload_model_control("upload_model_train")
