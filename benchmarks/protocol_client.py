"""A browser-free Streamlit client: sessions that speak Streamlit's own websocket protocol.

A browser page costs a Chromium's CPU and memory; this client holds only what the browser holds
that the server can tell apart (widget states, the link's query string, cached messages, the timers
of `st.fragment(run_every=...)`) and sends what the browser would send, so a load test can put a
room of sessions on a server from one small process and measure the server alone.

    session = Session("http://127.0.0.1:8501", query_string="preset=...")
    await session.connect(); await session.run()          # a page load
    session.set_value("text", string_value="abc"); await session.run()
    session.press("train_button"); await session.run()
    await session.pump(lambda: session.epoch_progress()[0] >= 5, timeout=60)

The protocol (Streamlit 1.67): binary websocket frames at /_stcore/stream with the subprotocol
"streamlit"; the client sends BackMsg, the server ForwardMsg. See train_session() for the app's
Train page, first_run_seconds() for a new visitor's page load.
"""

import asyncio
import re
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.NumberInput_pb2 import NumberInput
from streamlit.proto.WidgetStates_pb2 import WidgetState

STREAM_PATH = "/_stcore/stream"
FINISHED_EARLY_FOR_RERUN = ForwardMsg.ScriptFinishedStatus.Value("FINISHED_EARLY_FOR_RERUN")
# The app's progress text: "Epoch 12.0 of 150 · ..." (maybe after a "Waiting ..." notice)
EPOCH_PATTERN = re.compile(r"Epoch (\d+(?:\.\d+)?) of (\d+)")
# A cached message the server stopped referring to is dropped after this many script runs, as the
# browser does (its ForwardMsgCache): the live view's charts would otherwise pile up. The server
# says how many in its new_session message (global.maxCachedMessageAge).
DEFAULT_CACHE_RUNS = 2


class ProtocolError(RuntimeError):
    """The server sent something this client cannot follow (or closed the session)."""


@dataclass
class ScriptRun:
    """How one script run went: seconds from the request to script_finished, and its status."""

    seconds: float
    status: int


def widget_state_of(element_type, element):
    """The WidgetState a browser reports for a widget element as the server drew it, or None.

    A widget the server set (set_value) shows that value; otherwise the default. Buttons report only
    when pressed, and file uploaders only after an upload, so they have none.
    """
    state = WidgetState(id=element.id)
    chosen = getattr(element, "set_value", False)
    if element_type in ("checkbox", "toggle"):
        state.bool_value = element.value if chosen else element.default
    elif element_type in ("text_area", "text_input"):
        state.string_value = element.value if chosen else element.default
    elif element_type == "number_input":
        number = element.value if chosen else element.default
        if element.data_type == NumberInput.INT:
            state.int_value = int(number)
        else:
            state.double_value = number
    elif element_type == "selectbox":
        if chosen:
            state.string_value = element.raw_value
        elif 0 <= element.default < len(element.options):
            state.string_value = element.options[element.default]
        else:
            return None  # no choice yet (index=None): the browser reports nothing either
    elif element_type == "slider":
        state.double_array_value.data.extend(element.value if chosen else element.default)
    elif element_type == "multiselect":
        chosen_values = element.raw_values if chosen else [element.options[index] for index in element.default]
        state.string_array_value.data.extend(chosen_values)
    else:
        return None
    return state


class Session:
    """One Streamlit session over one websocket, driven the way a browser tab drives it."""

    def __init__(self, base_url, query_string="", page_script_hash=""):
        parts = urlsplit(base_url)
        self.base_url = base_url.rstrip("/")
        self.stream_url = f"ws://{parts.netloc}{STREAM_PATH}"
        self.query_string = query_string  # the browser's address bar; the server can change it
        self.page_script_hash = page_script_hash
        self.websocket = None
        self.session_id = None
        self.widgets = {}  # widget id -> WidgetState, what the browser would report
        self.widget_types = {}  # widget id -> element type ("button", "text_area", ...)
        self.pressed = set()  # widget ids whose trigger goes with the next request only
        self.drawn_this_run = set()  # widget ids the current full run drew
        self.timers = {}  # fragment id -> [interval seconds, next due on time.monotonic()]
        self.cache = {}  # message hash -> [ForwardMsg, script run it was last used in, its fragment id]
        self.cache_runs = DEFAULT_CACHE_RUNS
        self.runs_finished = 0  # script runs that were not cut short for another
        self.full_run = True  # whether the script run under way is the whole page (not a fragment)
        self.run_fragment_ids = []  # the fragments the script run under way reruns
        self.script_running = False
        self.page_done = False  # the page is all drawn (a full run finished) and no run is under way
        self.page_progress = None  # the text of the progress bar on the page now; None while the page has none
        self.pages_drawn = 0  # full runs that finished (not cut short for another run)
        self.last_status = None  # the script_finished status of the newest of those
        self.progress_text = ""  # the newest st.progress text drawn
        self.progress_log = []  # (time.monotonic(), epoch fraction) at each progress the server drew
        self.errors = []  # exception messages the app showed
        self.alerts = []  # texts of st.error/st.warning/st.info the full runs drew, the newest run's last
        self.auto_reruns_sent = 0
        self.on_message = None  # optional callback(ForwardMsg) for anything else a caller wants

    # -- the connection ------------------------------------------------------------------------

    async def connect(self):
        # Only "streamlit": a second entry would be read as an XSRF token, a third as a session to resume.
        # A browser sends no pings of its own; a busy server may take long to answer the handshake.
        self.websocket = await websockets.connect(self.stream_url, subprotocols=["streamlit"], max_size=None, ping_interval=None, open_timeout=60)

    async def close(self):
        if self.websocket is not None:
            await self.websocket.close()
            self.websocket = None

    async def __aenter__(self):
        await self.connect()
        return self

    async def __aexit__(self, *exc):
        await self.close()

    # -- what the client sends -----------------------------------------------------------------

    def widget_id(self, key):
        """The id of the widget made with key=`key` that the page shows now, or None.

        Streamlit writes a keyed widget's id as "$$ID-<hex hash>-<key>".
        """
        for widget_id in self.widget_types:
            if widget_id.split("-", 2)[2:] == [key]:
                return widget_id
        return None

    def has_widget(self, key):
        return self.widget_id(key) is not None

    def set_value(self, key, **value):
        """Give widget `key` a value for the next request, e.g. set_value("text", string_value="abc")."""
        widget_id = self.widget_id(key)
        if widget_id is None:
            raise ProtocolError(f"the page shows no widget with key {key!r}")
        state = WidgetState(id=widget_id, **value)
        self.widgets[widget_id] = state

    def press(self, key):
        """Press button `key` with the next request (a trigger fires once)."""
        widget_id = self.widget_id(key)
        if widget_id is None:
            raise ProtocolError(f"the page shows no button with key {key!r}")
        self.pressed.add(widget_id)

    def client_state_widgets(self):
        """Every widget's state as the browser sends it, the pressed buttons' triggers included."""
        states = list(self.widgets.values())
        states += [WidgetState(id=widget_id, trigger_value=True) for widget_id in self.pressed]
        self.pressed = set()
        return states

    async def request_run(self, fragment_id="", is_auto_rerun=False):
        """Ask for a script run (the whole page, or one fragment), as the browser does."""
        message = BackMsg()
        client_state = message.rerun_script
        client_state.query_string = self.query_string
        client_state.page_script_hash = self.page_script_hash
        client_state.fragment_id = fragment_id
        client_state.is_auto_rerun = is_auto_rerun
        client_state.widget_states.widgets.extend(self.client_state_widgets())
        # Telling the server what we hold lets it send a reference instead of a big element again.
        client_state.cached_message_hashes.extend(self.cache)
        info = client_state.context_info
        info.timezone, info.timezone_offset, info.locale = "UTC", 0, "en-US"
        info.url = self.base_url + "/" + (f"?{self.query_string}" if self.query_string else "")
        info.is_embedded, info.color_scheme = False, "light"
        await self.websocket.send(message.SerializeToString())

    async def fire_due_timers(self):
        """Send the auto reruns whose time has come; returns when the next one is due (or None)."""
        now = time.monotonic()
        for fragment_id, timer in list(self.timers.items()):
            interval, due = timer
            if due <= now:
                await self.request_run(fragment_id=fragment_id, is_auto_rerun=True)
                self.auto_reruns_sent += 1
                # a browser's setInterval keeps its beat; one that fired late does not catch up
                timer[1] = due + interval if due + interval > now else now + interval
        return min((due for _, due in self.timers.values()), default=None)

    # -- what the client receives --------------------------------------------------------------

    async def receive(self, timeout=None):
        """Read and handle one ForwardMsg; returns it, or None when `timeout` seconds pass first."""
        try:
            frame = await asyncio.wait_for(self.websocket.recv(), timeout)
        except asyncio.TimeoutError:
            return None
        except websockets.ConnectionClosed as closed:
            raise ProtocolError(f"the server closed the session: {closed}") from None
        message = ForwardMsg()
        message.ParseFromString(frame)
        message = self.resolve_reference(message)
        self.handle(message)
        return message

    def resolve_reference(self, message):
        """A ref_hash message stands for a cached one we reported holding; swap it back in."""
        if message.WhichOneof("type") != "ref_hash":
            if message.metadata.cacheable:
                self.cache[message.hash] = [message, self.runs_finished, message.delta.fragment_id]
            return message
        entry = self.cache.get(message.ref_hash)
        if entry is None:
            raise ProtocolError(f"the server referred to a message this client does not hold: {message.ref_hash}")
        entry[1] = self.runs_finished
        full = ForwardMsg()
        full.CopyFrom(entry[0])
        full.metadata.CopyFrom(message.metadata)  # where it goes now: the reference's delta path
        return full

    def handle(self, message):
        """Keep what a browser keeps from each kind of message."""
        kind = message.WhichOneof("type")
        if kind == "new_session":
            self.start_run(message)
        elif kind == "delta" and message.delta.WhichOneof("type") == "new_element":
            self.take_element(message.delta.new_element)
        elif kind == "page_info_changed":
            self.query_string = message.page_info_changed.query_string  # the app rewrote the link
        elif kind == "session_status_changed":
            self.script_running = message.session_status_changed.script_is_running
        elif kind == "auto_rerun":
            self.start_timer(message.auto_rerun.fragment_id, message.auto_rerun.interval)
        elif kind == "stop_auto_rerun":
            for fragment_id in message.stop_auto_rerun.fragment_ids:
                self.timers.pop(fragment_id, None)
        elif kind == "script_finished":
            self.finish_run(message.script_finished)
        # page_config_changed, navigation, logo, heartbeat_ack, ...: a browser draws them; nothing to keep
        if self.on_message is not None:
            self.on_message(message)

    def start_run(self, message):
        self.page_done = False
        if message.new_session.initialize.session_id:
            self.session_id = message.new_session.initialize.session_id
        if message.new_session.config.max_cached_message_age:
            self.cache_runs = message.new_session.config.max_cached_message_age
        self.run_fragment_ids = list(message.metadata.run.fragment_ids)
        self.full_run = not self.run_fragment_ids
        if self.full_run:
            # A full run sets up its fragments' timers afresh: the browser drops the old ones here.
            self.timers.clear()
            self.drawn_this_run = set()
            self.alerts = []
            self.page_progress = None

    def start_timer(self, fragment_id, interval):
        if fragment_id and fragment_id in self.timers and self.timers[fragment_id][0] == interval:
            return  # the browser keeps a running timer with the same interval
        if fragment_id:
            self.timers[fragment_id] = [interval, time.monotonic() + interval]

    def take_element(self, element):
        element_type = element.WhichOneof("type")
        body = getattr(element, element_type)
        if element_type == "progress":
            self.take_progress(body.text)
        elif element_type == "exception":
            self.errors.append(f"{body.type}: {body.message}")
        elif element_type == "alert" and self.full_run:
            self.alerts.append(body.body)
        widget_id = getattr(body, "id", "")
        if not widget_id or not widget_id.startswith("$$ID-"):
            return  # not a widget (other elements have no id, or an id of another kind)
        self.widget_types[widget_id] = element_type
        self.drawn_this_run.add(widget_id)
        set_by_server = getattr(body, "set_value", False)
        if widget_id not in self.widgets or set_by_server:
            state = widget_state_of(element_type, body)
            if state is not None:
                self.widgets[widget_id] = state

    def take_progress(self, text):
        self.progress_text = self.page_progress = text
        match = EPOCH_PATTERN.search(text)
        if match:
            self.progress_log.append((time.monotonic(), float(match.group(1))))

    def finish_run(self, status):
        if status == FINISHED_EARLY_FOR_RERUN:
            return  # another run follows at once: the page is not done
        self.runs_finished += 1
        if self.full_run or self.pages_drawn:
            self.page_done = True
        if self.full_run:
            self.pages_drawn += 1
            self.last_status = status
            # Widgets this run did not draw are gone from the page; the browser stops reporting them.
            for widget_id in set(self.widget_types) - self.drawn_this_run:
                self.widget_types.pop(widget_id)
                self.widgets.pop(widget_id, None)
        # As the browser ages its cache: a fragment's run ages only that fragment's messages; the
        # rest of the page may still be referred to by a run the server has yet to answer.
        for hash_, (_, last_used, fragment_id) in list(self.cache.items()):
            if self.run_fragment_ids and fragment_id not in self.run_fragment_ids:
                continue
            if self.runs_finished - last_used > self.cache_runs:
                del self.cache[hash_]

    # -- driving the page ----------------------------------------------------------------------

    async def run(self, timeout=120.0):
        """Request a full run (a page load, or the answer to a widget change) and read until it is over.

        The timers of the page's fragments keep firing meanwhile, as a browser's do.
        """
        started, drawn_before = time.monotonic(), self.pages_drawn
        await self.request_run()
        if not await self.pump(lambda: self.pages_drawn > drawn_before, timeout):
            raise ProtocolError(f"the script did not finish within {timeout:.0f} s")
        return ScriptRun(time.monotonic() - started, self.last_status)

    async def pump(self, until, timeout):
        """Read messages and answer the fragments' timers until until() is true; False after `timeout` s."""
        deadline = time.monotonic() + timeout
        while not until():
            next_due = await self.fire_due_timers()
            now = time.monotonic()
            if now >= deadline:
                return False
            wait = deadline - now if next_due is None else max(0.0, min(next_due, deadline) - now)
            await self.receive(timeout=wait)
        return True

    def epoch_progress(self):
        """(epoch fraction, target epochs) from the newest progress text, or (0.0, None)."""
        match = EPOCH_PATTERN.search(self.progress_text)
        return (float(match.group(1)), int(match.group(2))) if match else (0.0, None)


async def first_run_seconds(base_url, query_string="", timeout=120.0):
    """A new visitor: seconds from opening the websocket to the first script_finished of the page."""
    started = time.monotonic()
    session = Session(base_url, query_string)
    try:
        await session.connect()
        await session.run(timeout)
    finally:
        await session.close()
    return time.monotonic() - started


@dataclass
class TrainingResult:
    """How one session's training went, as its client saw it."""

    first_run: float = 0.0  # seconds from connect to the page's first script_finished
    target: int | None = None  # epochs to train
    progress: list = field(default_factory=list)  # (time.monotonic(), epoch fraction)
    trained_from: float | None = None  # time.monotonic() when it pressed Train
    finished_at: float | None = None  # time.monotonic() when the target was reached, None if not
    error: str | None = None
    auto_reruns: int = 0  # timer reruns the client sent

    @property
    def completed(self):
        return self.finished_at is not None and self.error is None

    def fraction_at(self, moment):
        """The epoch fraction this session had reached at `moment` (time.monotonic())."""
        reached = [fraction for at, fraction in self.progress if at <= moment]
        return max(reached, default=0.0)


def reached_target(session):
    fraction, target = session.epoch_progress()
    return target is not None and fraction >= target


def training_over(session):
    """Whether the run reached its target epochs, or ended otherwise (stopped, diverged).

    A run that ended shows Resume beside its progress bar, once no script run is under way. A full
    run can reach the client without its fragments: a fragment run that starts before the server
    has sent the full run's messages drops those of that fragment, then draws it afresh (Streamlit's
    ForwardMsgQueue.clear). So the page is not over until it holds a progress bar again.
    """
    return reached_target(session) or (session.has_widget("resume_button") and session.page_done and session.page_progress is not None)


async def train_session(base_url, query_string="", text=None, timeout=600.0):
    """One visitor of the Train page: load it, set the text (unless the link has it), press Train,
    answer the live view's timer until the run is over. Returns a TrainingResult; never raises for
    the server's sake (a refused connection, a timeout or an app error goes into .error).
    """
    result = TrainingResult()
    session = Session(base_url, query_string)
    deadline = time.monotonic() + timeout
    try:
        started = time.monotonic()
        await session.connect()
        await session.run(timeout)
        result.first_run = time.monotonic() - started
        if text is not None:
            session.set_value("text", string_value=text)
            await session.run(deadline - time.monotonic())
        session.press("train_button")
        result.trained_from = time.monotonic()
        await session.run(deadline - time.monotonic())
        if not session.has_widget("stop_button") and not training_over(session):
            raise ProtocolError("pressing Train started no run: " + ("; ".join(session.errors) or session.progress_text or "no progress shown"))
        if not await session.pump(lambda: training_over(session), deadline - time.monotonic()):
            result.error = f"timed out at {session.progress_text or 'no progress'}"
        elif reached_target(session):
            result.finished_at = time.monotonic()
        else:
            result.error = f"the run ended early: {session.progress_text}" + "".join(f" | {alert}" for alert in session.alerts)
    except (ProtocolError, OSError, websockets.InvalidHandshake) as error:
        result.error = f"{type(error).__name__}: {error}"
    finally:
        result.target = session.epoch_progress()[1]
        result.progress = list(session.progress_log)
        result.auto_reruns = session.auto_reruns_sent
        if session.errors and result.error is None:
            result.error = "; ".join(session.errors)
        await session.close()
    return result


async def train_room(base_url, links, texts=None, timeout=600.0):
    """Several train_session()s at once (links[i] and texts[i] for session i); their TrainingResults."""
    texts = texts or [None] * len(links)
    return await asyncio.gather(*(train_session(base_url, link, text, timeout) for link, text in zip(links, texts)))
