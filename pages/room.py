"""Room: a workshop's board for the big screen, live: who is in the room, how each run does, the best run's sample."""

import time

import pandas as pd
import streamlit as st

from playground import rooms
from playground.plain_text import escape_markdown
from playground.ui import common

BOARD_SECONDS = 2.0  # runs are saved every few seconds while they train: a faster board would show nothing new
SAMPLE_CHARS = 600  # of the best run's sample: it fits beside the table at 1280x720
DIVERGED_STYLE = "background-color: #ffe3e3; color: #c92a2a; font-weight: 600"
ROW_PIXELS = 46  # a row of the table in the big screen's type
ROWS_SHOWN = 10  # at 1280x720, below the heading; more rows scroll
# The big screen's type pushes the heading under Streamlit's top bar: room for it
BOARD_CSS = '<style>[data-testid="stMainBlockContainer"] { padding-top: 3.5rem; }</style>'


def board_table(board):
    """The board's rows as a table, diverged runs in red; nicknames are plain cells, never Markdown or HTML."""
    frame = pd.DataFrame(
        [
            {
                "#": place,
                "Nickname": row.nickname,
                "Bits/char": "" if row.bpc is None else f"{row.bpc:.3f}",  # text: a run without an epoch shows nothing, not "None"
                "Measured on": row.measured_on or "",
                "Epochs": row.epochs,
                "Status": row.status,
            }
            for place, row in enumerate(board.rows, start=1)
        ],
        columns=["#", "Nickname", "Bits/char", "Measured on", "Epochs", "Status"],
    )
    diverged = [row.diverged for row in board.rows]
    return frame.style.apply(lambda line: [DIVERGED_STYLE if diverged[line.name] else ""] * len(line), axis=1)


def ends_in(board):
    hours = max(0.0, board.ends - time.time()) / 3600
    return f"{hours:.0f} h" if hours >= 1 else f"{hours * 60:.0f} min"


@st.fragment(run_every=BOARD_SECONDS)
def live_board(code):
    try:
        board = rooms.board(common.service().store, code)
    except rooms.RoomError as error:
        st.error(escape_markdown(str(error)))
        return
    heading, in_room, trained = st.columns([2, 1, 1], vertical_alignment="bottom")
    heading.header(f"Room {board.code}", anchor=False)
    heading.caption(f"Open the presenter's link to join. The room ends in {ends_in(board)}.")
    in_room.metric("In the room", board.in_room)
    trained.metric("Trained", board.trained)
    table, sample = st.columns([3, 2], gap="large")
    with table:
        if not board.rows:
            st.info("Nobody has joined yet: attendees open the presenter's link and press Join in the sidebar.")
        else:
            st.dataframe(
                board_table(board),
                hide_index=True,
                width="stretch",
                row_height=ROW_PIXELS,
                height=ROW_PIXELS * (1 + min(len(board.rows), ROWS_SHOWN)) + 3,
                key="board_table",
                column_config={"Bits/char": st.column_config.TextColumn(alignment="right", help="The run's best loss so far, in bits per character: lower is better.")},
            )
            if any(row.measured_on == rooms.TRAINING_TEXT for row in board.rows) and any(row.measured_on == rooms.VALIDATION for row in board.rows):
                st.caption("Runs measured on held-out text come first: a run's figure on its own training text flatters it.")
    with sample:
        if board.sample is None:
            st.caption("The best run's latest sample shows here once a run has trained an epoch.")
        else:
            st.text(f"Best run: {board.sample.nickname}, sample after epoch {board.sample.epoch}")
            st.code(board.sample.text[:SAMPLE_CHARS], language=None, wrap_lines=True)


def _open_typed_code():
    st.query_params["room"] = st.session_state["board_code"].strip().upper()


if not common.presenting():  # the board is for the big screen whatever the other pages show
    st.html(common.BIG_SCREEN_CSS)
st.html(BOARD_CSS)
board_code, problem = None, None
if st.query_params.get("room"):
    try:
        board_code = rooms.check_code(st.query_params["room"])
    except rooms.RoomError as error:
        problem = str(error)
if board_code is None:
    st.title("Room board")
    if problem:
        st.error(escape_markdown(problem))
    st.info("A presenter starts a room under **Share these settings** on the Train page; its board opens here, or from its code:")
    st.text_input("Room code", key="board_code", max_chars=rooms.CODE_LENGTH + 4, on_change=_open_typed_code)
    st.stop()
live_board(board_code)
