"""What several pages share: the session's model, the loss chart, the model file controls."""

import gc
import html
import io
import math
import threading
import time

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from playground import analysis
from playground.limits import Caps
from playground.owner import COOKIE_NAME, new_owner_id, valid_owner_id
from playground.plain_text import char_name, code_span, escape_markdown, escape_plotly
from playground.service import get_service
from playground.state import LoadedModel, TrainingRun
from playground.store import StoreFull
from rnn_core import CheckpointError, load, to_bytes

TRAIN_PAGE = "pages/train.py"


GARBAGE_EVERY_SECONDS = 10
_last_collection = {"at": time.monotonic()}
_collection_lock = threading.Lock()


# Link values the sidebar takes on several pages, with the link form of their defaults (Streamlit
# drops a bound value equal to its default from the address bar: that is no refusal)
APP_WIDE_DEFAULTS = {"copy_length": str(analysis.COPY_LENGTH)}
# Link parameters read on every page by the app itself, which says what was wrong with them (playground/ui/lessons.py)
APP_WIDE_FREE_KEYS = ("lesson", "step", "room")  # room: a workshop room to join (playground/ui/rooms.py)


def link_parameters(number_keys):
    """The link's parameters as it came, read before any widget; number values that are not finite are removed.

    Streamlit's number widgets turn a seeded value into an int, and `1e400`, `inf` or a 400-digit
    number then crash the page on every rerun (OverflowError). Such values of `number_keys` are
    removed from the parameters the widgets are seeded from (st.query_params does not reach those:
    this is how Streamlit itself refreshes them after a page change). Lists and free text (a
    presenter's `locked`, a text, a seed text) are never touched, however long.
    """
    params = st.query_params.to_dict()
    unusable = [key for key in (*number_keys, *APP_WIDE_DEFAULTS) if key in params and not _finite_number(params[key])]
    if unusable:
        # named by report_ignored_link_values, even when the page first stops early (no model yet)
        st.session_state["link_unusable"] = sorted({*st.session_state.get("link_unusable", []), *unusable})
        from streamlit.runtime.state.session_state_proxy import get_session_state

        with get_session_state().query_params() as query_params:
            for key in unusable:
                del query_params[key]
            query_params.set_initial_query_params_from_current()
    return params


def _finite_number(raw):
    try:
        return math.isfinite(float(raw))
    except (ValueError, OverflowError):
        return False


def report_ignored_link_values(raw_params, bound_keys, notice, free_keys=()):
    """On a session's first run, name the link parameters that were unknown or refused.

    Call it after the widgets: Streamlit silently drops a bound value it refuses from
    st.query_params. `free_keys` are parameters the page reads itself.
    """
    if st.session_state.get("link_checked"):
        return
    st.session_state["link_checked"] = True
    bound_keys = {*bound_keys, *APP_WIDE_DEFAULTS, *APP_WIDE_FREE_KEYS}
    free_keys = {*free_keys, *APP_WIDE_FREE_KEYS, *(key for key, value in APP_WIDE_DEFAULTS.items() if raw_params.get(key) == value)}
    refused = {key for key, value in raw_params.items() if key not in bound_keys or (key not in free_keys and st.query_params.get(key) != value)}
    ignored = sorted(refused | set(st.session_state.get("link_unusable", [])))
    if ignored:
        notice.warning(
            "The link had settings that were ignored (unknown or out of range), so their defaults are used: " + ", ".join(code_span(key) for key in ignored)
        )


# Readable from the back of a room on a 1280x720 projector, on every page.
BIG_SCREEN_CSS = """<style>
html { font-size: 22px; }
[data-testid="stMainBlockContainer"] { padding: 1rem 1.5rem; }
[data-testid="stCode"] pre, [data-testid="stCode"] code { font-size: 0.95rem; line-height: 1.35; }
[data-testid="stProgress"] p { font-size: 1.1rem; }
</style>"""


# On a narrow screen the sidebar covers the page; Streamlit closes it after a page is chosen only
# for browsers that call themselves mobile. This closes it for every window under 768 px (Streamlit's
# own breakpoint). The wrapper's rule keeps the script's empty element from adding a gap.
COLLAPSE_SIDEBAR_ON_NARROW_SCREENS = """<script>
(function () {
  if (window.__charRnnCollapseOnNavigation) return;
  window.__charRnnCollapseOnNavigation = true;
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest('[data-testid="stSidebarNavLink"]');
    if (!link || window.innerWidth >= 768) return;
    setTimeout(function () {
      var collapse = document.querySelector('[data-testid="stSidebarCollapseButton"] button');
      if (collapse) collapse.click();
    }, 0);
  }, true);
})();
</script>"""


def collapse_sidebar_on_narrow_screens():
    """Close the sidebar once a page is chosen on a phone (see COLLAPSE_SIDEBAR_ON_NARROW_SCREENS)."""
    st.html("<style>[data-testid=stLayoutWrapper]:has(> .st-key-sidebar_script) { display: none; }</style>")
    with st.container(key="sidebar_script"):
        st.html(COLLAPSE_SIDEBAR_ON_NARROW_SCREENS, unsafe_allow_javascript=True)


# Streamlit's code blocks (st.code) and displayed equations (st.latex) scroll sideways when a line is
# wider than their column, but cannot take the keyboard's focus: a keyboard user could not scroll them
# (axe-core: scrollable-region-focusable). This lets each one that scrolls take the focus (tabindex 0),
# looking again a tenth of a second after the page changes.
KEYBOARD_SCROLLING = """<script>
(function () {
  if (window.__charRnnKeyboardScrolling) return;
  window.__charRnnKeyboardScrolling = true;
  var pending = null;
  function mark() {
    pending = null;
    document.querySelectorAll('[data-testid="stCode"] pre, .katex-display').forEach(function (region) {
      if (!region.hasAttribute("tabindex") && (region.scrollWidth > region.clientWidth || region.scrollHeight > region.clientHeight)) {
        region.setAttribute("tabindex", "0");
      }
    });
  }
  function soon() { if (pending === null) pending = setTimeout(mark, 100); }
  new MutationObserver(soon).observe(document.body, {childList: true, subtree: true});
  window.addEventListener("resize", soon);
  mark();
})();
</script>"""


# Streamlit colours highlighted code (st.code with a language) from a fixed palette whose blues, greens
# and greys have 2.8 to 3.6:1 contrast on the code's background; these darker ones have 5.6:1 or more.
READABLE_CODE_CSS = """<style>
[data-testid="stCode"] pre .token.comment, [data-testid="stCode"] pre .token.prolog, [data-testid="stCode"] pre .token.doctype,
[data-testid="stCode"] pre .token.cdata, [data-testid="stCode"] pre .token.punctuation, [data-testid="stCode"] pre .token.unchanged.line { color: #5f5d57; }
[data-testid="stCode"] pre .token.attr-name, [data-testid="stCode"] pre .token.property, [data-testid="stCode"] pre .token.variable { color: #0a5a8c; }
[data-testid="stCode"] pre .token.boolean, [data-testid="stCode"] pre .token.constant, [data-testid="stCode"] pre .token.symbol,
[data-testid="stCode"] pre .token.string, [data-testid="stCode"] pre .token.char, [data-testid="stCode"] pre .token.attr-value,
[data-testid="stCode"] pre .token.inserted { color: #1e6b2e; }
[data-testid="stCode"] pre .token.number, [data-testid="stCode"] pre .token.regex { color: #0b6a5f; }
[data-testid="stCode"] pre .token.operator, [data-testid="stCode"] pre .token.entity, [data-testid="stCode"] pre .token.decorator,
[data-testid="stCode"] pre .token.atrule { color: #9c4400; }
[data-testid="stCode"] pre .token.url { color: #6a3d9a; }
[data-testid="stCode"] pre .token.keyword, [data-testid="stCode"] pre .token.tag, [data-testid="stCode"] pre .token.function,
[data-testid="stCode"] pre .token.class-name, [data-testid="stCode"] pre .token.selector { color: #0b5cad; }
[data-testid="stCode"] pre .token.important, [data-testid="stCode"] pre .token.deleted { color: #b3261e; }
[data-testid=stLayoutWrapper]:has(> .st-key-keyboard_script) { display: none; }
</style>"""


def readable_on_every_page():
    """What every page needs to read well (streamlit_app.py calls it): highlighted code with enough
    contrast (READABLE_CODE_CSS), and code blocks and equations the keyboard can scroll (KEYBOARD_SCROLLING)."""
    st.html(READABLE_CODE_CSS)
    with st.container(key="keyboard_script"):
        st.html(KEYBOARD_SCROLLING, unsafe_allow_javascript=True)


def presenting():
    """Whether the big-screen view is on: the Train page's toggle, kept across pages, or a link's `present=true`."""
    return bool(st.session_state.get("present", st.query_params.get("present") == "true"))


def owner_id():
    """This browser's owner id (the cookie OwnerCookieMiddleware set), or one for this session alone.

    A session without the cookie (a test, a client that sends no cookies) still has runs of its own;
    a cookie of another shape, forged or damaged, is not taken.
    """
    cookie = st.context.cookies.get(COOKIE_NAME)
    if valid_owner_id(cookie):
        return cookie
    return st.session_state.setdefault("owner_of_this_session", new_owner_id())


def session_connected(session_id):
    """Whether a Streamlit session's websocket is connected (True outside a server, e.g. under AppTest)."""
    if not Runtime.exists():
        return True
    return Runtime.instance().is_active_session(session_id)


def service():
    """The training service of this server process (started by streamlit_app.py's lifespan)."""
    return get_service(st.get_option("server.disconnectedSessionTTL"), session_connected)


def my_runs():
    """The runs of this browser (playground.service.Owner), this session noted as one of its own."""
    context = get_script_run_ctx()
    return service().owner(owner_id(), None if context is None else context.session_id)


def current_run():
    """This browser's current run, or None."""
    return my_runs().current


def kept_runs():
    """This browser's finished and stopped runs, oldest first (playground.runs.RunRecord)."""
    return my_runs().kept


def keep_current_run():
    """Keep (or refresh) the current run among the kept runs once it has stopped or finished."""
    keep_run(current_run())


def keep_run(run, name=None):
    """Keep (or refresh) a stopped or finished run among the kept runs, saying so if the oldest had to go."""
    try:
        dropped = service().keep(my_runs(), run, name)
    except StoreFull as error:
        st.error(escape_markdown(str(error)))
        return
    if dropped:
        st.toast(f"Kept runs are limited to {Caps.from_environment().runs_kept}: the oldest, {escape_markdown(', '.join(dropped))}, was dropped.")


def current_model():
    """What Generate and Inspect use: the current run, else an uploaded model, else None."""
    return current_run() or st.session_state.get("loaded_model")


def set_run(run):
    """Make `run` this browser's current run (None: no run), keeping the one it replaces on Compare.

    Whatever replaces a run (Train from scratch, a model upload, Reset, Step mode's first step)
    comes through here: the old run stops and, once it has finished an epoch, stays on Compare.
    """
    try:
        dropped, kept = service().replace_current(my_runs(), run)
    except StoreFull as error:
        st.error(escape_markdown(str(error)))
        return
    if kept:
        st.toast("The previous run is kept on the Compare page.")
    if dropped:
        st.toast(f"Kept runs are limited to {Caps.from_environment().runs_kept}: the oldest, {escape_markdown(', '.join(dropped))}, was dropped.")
    st.session_state.pop("loaded_model", None)


def require_model(upload_key):
    """The model to use; without one, say how to get one and stop the page."""
    source = current_model()
    if source is None:
        st.info("There is no model yet. Train one on the **Train** page, or upload a model file (.npz) below.")
        st.page_link(TRAIN_PAGE, label="Go to Train", icon=":material/model_training:")
        upload_model_control(upload_key)
        st.stop()
    return source


def stop_on_unknown_characters(vocab, text):
    """Name the characters of `text` the model does not know, and stop the page, if there are any."""
    unknown = vocab.unknown(text)
    if unknown:
        names = ", ".join(repr(char) for char in unknown[:10]) + (" and more" if len(unknown) > 10 else "")
        known = " ".join(char_name(char) for char in vocab.chars)
        st.error(f"The model does not know {escape_markdown(names)}. Use only characters of its training text: {escape_markdown(known)}")
        st.stop()


# Okabe and Ito's eight colours, told apart with every common colour-vision deficiency
OKABE_ITO = {"orange": "#E69F00", "sky blue": "#56B4E9", "bluish green": "#009E73", "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00", "reddish purple": "#CC79A7", "black": "#000000"}
NEUTRAL = "#6b6b6b"  # reference lines and their labels: grey, 5.3:1 on the page
LOSS_COLOURS = {"train": OKABE_ITO["blue"], "val": OKABE_ITO["vermillion"]}
# Shades behind text (Inspect's characters, copied stretches): at their strongest the theme's text
# on them still has 4.5:1 contrast (tests/test_palettes.py)
POSITIVE_RGB, NEGATIVE_RGB, STRONGEST_SHADE = (230, 159, 0), (0, 114, 178), 0.78  # Okabe-Ito orange and blue
MARK_BACKGROUND = "#f6dda6"  # Okabe-Ito orange, light; a vermillion underline marks it without colour too


def shade_colour(value):
    """The background for a value in -1..1: orange for positive, blue for negative, stronger further from 0."""
    red, green, blue = POSITIVE_RGB if value > 0 else NEGATIVE_RGB
    return f"rgba({red}, {green}, {blue}, {min(abs(value), 1.0) * STRONGEST_SHADE:.2f})"


def loss_figure(curve, height=360, font_size=None, baselines=None):
    """A plotly figure of the loss in bits per character: train (fine points) and validation (per
    epoch), each point's learning rate on its hover, with the n-gram baselines of the run's text when given.

    curve: {"train": [(epoch, nats, lr)], "val": [(epoch, nats, lr)]}, as TrainingRun.curve gives it.
    The live view draws it every second: the figure is built in one go from arrays, since plotly
    checks a Python list element by element on each property set.
    """
    hover = "epoch %{x:.2f}<br>%{y:.3f} bits per character<br>learning rate %{customdata:.3g}<extra>%{fullData.name}</extra>"
    traces = []
    for key, name, mode in (("train", "train", "lines"), ("val", "validation", "lines+markers")):
        if curve[key]:
            epochs, losses, rates = np.array(curve[key], dtype=np.float32).T  # (3, points)
            traces.append(go.Scatter(x=epochs, y=losses / np.log(2), customdata=rates, hovertemplate=hover, mode=mode, name=name, line=dict(color=LOSS_COLOURS[key])))
    shapes, annotations = baseline_marks(baselines, font_size) if baselines is not None else ([], [])
    return go.Figure(traces, layout=dict(
        height=height,
        margin=dict(l=10, r=10, t=30, b=10),
        xaxis_title="epoch",
        yaxis_title="loss (bits per character)",
        legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0),
        uirevision="loss",  # keeps the user's zoom while points arrive
        font=dict(size=font_size),
        shapes=shapes,
        annotations=annotations,
    ))


BASELINE_LINES = (  # (field of NgramBaselines, label on the chart, what it means in one line)
    ("uniform", "uniform guess", "every character equally likely"),
    ("unigram", "letter counts", "a model that only counts letters"),
    ("bigram", "pair counts", "a model that counts which letter follows which"),
)
BASELINE_CAPTION = (
    "Dotted lines: what counting alone achieves on the same text. "
    + " · ".join(f"**{name}**: {meaning}" for _, name, meaning in BASELINE_LINES)
    + ". Below the pair counts, the network knows more than which letter follows which."
)


def add_baselines(figure, baselines, font_size=None):
    """Horizontal lines at the n-gram baselines (rnn_core.baselines.NgramBaselines, bits per character)."""
    shapes, annotations = baseline_marks(baselines, font_size)
    figure.update_layout(shapes=[*figure.layout.shapes, *shapes], annotations=[*figure.layout.annotations, *annotations])


def baseline_marks(baselines, font_size=None):
    """The baselines' dotted lines and labels, as a layout's (shapes, annotations).

    Baselines equal to two decimals (a text whose characters each occur once: the uniform guess and
    the letter counts) share one label, "uniform guess = letter counts 2.32", not two drawn over each other.
    These are the line and label `figure.add_hline` draws, which took 30 ms each: two thirds of the
    live chart's cost on every redraw.
    """
    labels = {}
    for field, name, _ in BASELINE_LINES:
        labels.setdefault(f"{getattr(baselines, field):.2f}", []).append(name)
    shapes, annotations = [], []
    for field, name, _ in BASELINE_LINES:
        bits = getattr(baselines, field)
        names = labels[f"{bits:.2f}"]
        shapes.append(dict(type="line", xref="x domain", x0=0, x1=1, yref="y", y0=bits, y1=bits, line=dict(color=NEUTRAL, dash="dot", width=1)))
        if name == names[0]:
            annotations.append(dict(text=f"{' = '.join(names)} {bits:.2f}", font=dict(size=font_size or 11, color=NEUTRAL), showarrow=False, xref="x domain", x=1, xanchor="right", yref="y", y=bits, yanchor="bottom"))
    return shapes, annotations


# Twelve colours for runs: Okabe and Ito's, but for their yellow (too faint as a line on the page), then
# five of Tol's muted ones. Past the first seven no palette stays safe for every reader: the legend names each.
RUN_COLOURS = [*(OKABE_ITO[name] for name in ("blue", "orange", "bluish green", "reddish purple", "sky blue", "vermillion", "black")), "#332288", "#882255", "#44AA99", "#999933", "#AA4499"]


def run_colours(count):
    """`count` distinct colours: the palette above, or evenly spaced hues for more runs than it has."""
    if count <= len(RUN_COLOURS):
        return RUN_COLOURS[:count]
    return [f"hsl({round(360 * index / count)}, 70%, 42%)" for index in range(count)]


def runs_figure(records, by="epoch", train=True, validation=True, height=420):
    """Kept runs' loss curves on one chart, against epochs or seconds, in bits per character.

    One colour and one legend entry per run (its validation curve dotted, in the same colour); the
    legend sits below the chart, which grows with it, so it never covers the curves.
    """
    figure = go.Figure()
    to_bits = 1 / 0.6931471805599453
    for record, colour in zip(records, run_colours(len(records))):
        curve = record.curve if by == "epoch" else record.seconds_curve
        name = escape_plotly(record.name)
        shown_in_legend = False
        for key, wanted, dash in (("train", train, "solid"), ("val", validation, "dot")):
            if wanted and curve[key]:
                xs, ys = zip(*curve[key])
                figure.add_trace(
                    go.Scatter(
                        x=xs,
                        y=[y * to_bits for y in ys],
                        mode="lines",
                        name=name if key == "train" else f"{name} (validation)",
                        legendgroup=str(record.run_id),
                        showlegend=not shown_in_legend,
                        line=dict(color=colour, dash=dash),
                    )
                )
                shown_in_legend = True
    legend_rows = math.ceil(len(records) / 2)
    figure.update_layout(
        height=height + 26 * legend_rows,
        margin=dict(l=10, r=10, t=10, b=10),
        xaxis_title="epoch" if by == "epoch" else "seconds of training",
        yaxis_title="loss (bits per character)",
        legend=dict(orientation="h", yanchor="top", y=-0.12, x=0, entrywidth=0.5, entrywidthmode="fraction"),
    )
    return figure


def comparison_figure(curves, height=320):
    """Several per-epoch loss curves {label: [nats, ...]} on one chart."""
    figure = go.Figure()
    for (name, losses), colour in zip(curves.items(), run_colours(len(curves))):
        figure.add_trace(go.Scatter(x=list(range(1, len(losses) + 1)), y=losses, mode="lines", name=name, line=dict(color=colour)))
    figure.update_layout(height=height, margin=dict(l=10, r=10, t=30, b=10), xaxis_title="epoch", yaxis_title="loss (nats per character)", yaxis_type="log")
    return figure


def copy_length():
    """The shortest stretch counted as copied from the training text: a sidebar setting, kept across pages and in the link."""
    return st.sidebar.number_input(
        "Copied stretch, from (characters)", 4, 200, analysis.COPY_LENGTH, 1, key="copy_length", bind="query-params", persist_state="session",
        help="Samples mark each stretch of at least this many characters found word for word in the training text.",
    )


SAMPLE_STYLE = "font-family:monospace;font-size:0.85rem;line-height:1.45;white-space:pre-wrap;overflow-wrap:anywhere;padding:0.75rem 1rem;border-radius:0.5rem;background:#f8f9fa"
MARK_STYLE = f"background:{MARK_BACKGROUND};color:inherit;padding:0;border-bottom:2px solid {OKABE_ITO['vermillion']}"


def sample_html(sample, spans=()):
    """The sample as escaped HTML, each copied stretch sample[start:end] of `spans` marked."""
    pieces, at = [], 0
    for start, end in spans:
        pieces.append(html.escape(sample[at:start]))
        pieces.append(f'<mark style="{MARK_STYLE}" title="found word for word in the training text">{html.escape(sample[start:end])}</mark>')
        at = end
    pieces.append(html.escape(sample[at:]))
    return f'<div class="sample-text" style="{SAMPLE_STYLE}">' + "".join(pieces) + "</div>"


def show_sample(sample, training_text, min_length, prime=""):
    """A sample with the stretches it copied from `training_text` marked, and its share of new text.

    `prime` (the start of `sample` given by the user, not generated) is not judged. Without a
    training text (an uploaded or imported model) the sample is shown unmarked and the caption says why.
    """
    generated = sample[len(prime):]
    copied = analysis.copied(generated, training_text, min_length) if training_text else None
    st.html(sample_html(sample, [(start + len(prime), end + len(prime)) for start, end in copied.spans] if copied else ()))
    if copied is None:
        st.caption("This model came without its training text: copied stretches cannot be marked.")
    elif generated:
        st.caption(f"{copied.new_share:.0%} new: marked stretches of {min_length} or more characters occur word for word in the training text.")


def download_model_button(model_source, key):
    """Download the current model as .npz; the bytes are made only when clicked."""
    model, vocab = model_source.model, model_source.vocab
    metadata = {}
    if isinstance(model_source, TrainingRun):
        metadata = {"settings": model_source.settings.as_dict(), "preset": model_source.preset, "epochs": model_source.epoch}
    st.download_button(
        "Download model (.npz)",
        data=lambda: to_bytes(model, vocab, metadata),
        file_name="char-rnn-model.npz",
        mime="application/octet-stream",
        on_click="ignore",
        key=key,
    )


def _load_uploaded_model(key):
    uploaded = st.session_state.get(key)
    if uploaded is None:
        return
    data = uploaded.getvalue()
    limit = Caps.from_environment().upload_mb
    if len(data) > limit << 20:
        st.session_state["model_upload_error"] = f"{uploaded.name} is larger than {limit} MB; your current model is unchanged."
        return
    try:
        checkpoint = load(io.BytesIO(data))
    except CheckpointError as error:
        st.session_state["model_upload_error"] = f"{uploaded.name} could not be loaded: {error}. Your current model is unchanged."
        return
    set_run(None)
    st.session_state["loaded_model"] = LoadedModel(checkpoint, uploaded.name)
    st.session_state["model_upload_error"] = None


def upload_model_control(key):
    """A file uploader for a saved model; a bad file leaves the current model as it was."""
    st.file_uploader(
        "Upload a model (.npz)",
        type=["npz"],
        key=key,
        on_change=_load_uploaded_model,
        args=(key,),
        max_upload_size=Caps.from_environment().upload_mb,
        help="A model saved by this app or by `python -m rnn_core train`.",
    )
    error = st.session_state.get("model_upload_error")
    if error:
        st.error(escape_markdown(error))
    loaded = st.session_state.get("loaded_model")
    if loaded is not None and current_run() is None:
        st.success(f"Using the uploaded model {escape_markdown(loaded.name)}: {loaded.model.cell_name.upper()}, hidden size {loaded.model.hidden_size}, {len(loaded.vocab)} characters.")


SIDEBAR_EVERY_SECONDS = 2.0


def wait_for(until, seconds):
    """Wait on the server, up to `seconds`, until `until()` holds, looking again whenever a piece lands.

    A redraw the browser does not have to make costs the worker that shares its cores: waiting here
    for a run's first point or its end replaces the fast timer that used to poll for them.
    """
    deadline = time.monotonic() + seconds
    while not until() and time.monotonic() < deadline:
        service().wait_for_landing(min(0.1, deadline - time.monotonic()))
        st.session_state.get("drawn_status")  # a click meanwhile ends this script run here, not at the deadline


def training_status_sidebar():
    """On every page but Train: where this browser's run stands, redrawn while it trains."""
    run = current_run()
    if run is None:
        return
    with st.sidebar:
        st.fragment(_training_status, run_every=service().watch_interval(SIDEBAR_EVERY_SECONDS) if run.training else None)()


def _training_status():
    run = current_run()
    if run is None:
        return
    st.caption(progress_words(run))
    if st.session_state.get("sidebar_status") not in (None, run.status):
        st.session_state["sidebar_status"] = run.status
        st.rerun()  # it stopped training: redraw the page without the timer
    st.session_state["sidebar_status"] = run.status


def progress_words(run):
    """Where a run stands, in one line: "Training: epoch 3.2 of 200 · 2nd in line for a worker"."""
    if not run.training:
        return f"Model: {run.settings.cell.upper()}, trained for {run.trained_for} ({run.status})."
    words = f"Training: epoch {run.trainer.epoch_fraction:.1f} of {run.target_epochs}"
    place = service().queue_place(run)
    return words + (f" · waiting for a free worker, {ordinal(place)} in line" if place else "")


def ordinal(number):
    return f"{number}{'th' if 10 <= number % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(number % 10, 'th')}"


def collect_garbage_now_and_then():
    """A full garbage collection at most every GARBAGE_EVERY_SECONDS, server-wide.

    Closed sessions are cycles of objects that only a full collection frees. Streamlit's own
    collection after every script run (off in .streamlit/config.toml) cost a busy server most of
    its time; one every few seconds frees the same memory for a fraction of it.
    """
    with _collection_lock:
        if time.monotonic() - _last_collection["at"] < GARBAGE_EVERY_SECONDS:
            return
        _last_collection["at"] = time.monotonic()
    gc.collect()
