"""Workshop rooms on the pages: the attendee's box in the sidebar and the presenter's "Start a room".

The room itself lives in the run store (playground.rooms); these only draw and call it.
"""

import streamlit as st

from playground import rooms
from playground.plain_text import escape_markdown
from playground.ui import common

BOARD_PAGE = "pages/room.py"


def _store():
    return common.service().store


def board_link(code, label="Open the board"):
    """A link to room `code`'s board, for the big screen (large type, sidebar closed)."""
    st.page_link(BOARD_PAGE, label=label, icon=":material/groups:", query_params={"room": code, "present": "true"})


def join_control():
    """On every page: when the link names a room, or this browser is in one, a small sidebar box to join or leave it.

    The link's `room` is remembered for the session, whatever the address of the next page keeps.
    """
    if "room" in st.query_params:
        st.session_state["room_in_link"] = st.query_params["room"]
    wanted = st.session_state.get("room_in_link")
    owner = common.owner_id()
    member = rooms.membership(_store(), owner)
    if member is None and wanted is None:
        return
    with st.sidebar.container(border=True, key="room_box"):
        room = _room_or_warning(wanted) if wanted is not None else None
        if room is None and member is not None:  # the link names no room it can join, but the one this browser is in goes on
            room = _room_or_warning(member[0])
        if room is None:
            return
        if member is not None and member[0] == room.code:
            _in_room(*member)
        elif room.presenter == owner:
            st.markdown(f"**You present room {room.code}**")
            board_link(room.code)
        else:
            _join_form(room.code, member)
        error = st.session_state.get("room_error")
        if error:
            st.error(escape_markdown(error))


def _room_or_warning(code):
    """The open room with code `code`, or None, with a warning saying why not."""
    try:
        return rooms.open_room(_store(), code)
    except rooms.RoomError as error:
        st.warning(escape_markdown(str(error)))
        return None


def _join_form(code, member):
    st.markdown(f"**Join room {code}**")
    if member is not None:
        st.caption(f"You are in room {member[0]}: joining this one takes you out of it.")
    with st.form("join_room_form", border=False, enter_to_submit=True):
        st.text_input("Nickname (optional)", key="room_nickname", placeholder="e.g. Ada", help=f"Up to {rooms.NICKNAME_LENGTH} letters, digits and spaces. The board shows it beside your run's figures; your text and model stay yours.")
        st.form_submit_button("Join", key="join_room_button", type="primary", on_click=_join, args=(code,))


def _in_room(code, nickname):
    st.text(f"You are in room {code} as {nickname}")
    st.caption("The board shows your run's figures; your text and model stay yours.")
    with st.expander("Change nickname"):
        st.text_input("New nickname", key="room_new_nickname")
        st.button("Rename", key="rename_room_button", on_click=_rename)
    st.button("Leave the room", key="leave_room_button", on_click=_leave)


def _join(code):
    _answer(lambda: rooms.join(_store(), code, common.owner_id(), st.session_state.get("room_nickname", "")))


def _rename():
    _answer(lambda: rooms.rename(_store(), common.owner_id(), st.session_state.get("room_new_nickname", "")))


def _leave():
    rooms.leave(_store(), common.owner_id())
    st.session_state["room_error"] = None


def _answer(action):
    """Run a join or rename, keeping its refusal to show in the box."""
    try:
        action()
    except rooms.RoomError as error:
        st.session_state["room_error"] = str(error)
    else:
        st.session_state["room_error"] = None


def presenter_control():
    """In the Train page's "Share these settings": start a room, or show the one started. Returns its code, or None."""
    owner = common.owner_id()
    room = rooms.presented_room(_store(), owner)
    if room is None:
        st.button("Start a room", key="start_room_button", on_click=lambda: rooms.start(_store(), owner), help="Attendees who open the link join the room; its board shows their runs live, for the big screen.")
        return None
    members = len(_store().room_nicknames(room.code))
    st.markdown(f"**Room {room.code}** · {members} in the room · the link below takes attendees in")
    left, right = st.columns(2)
    with left:
        board_link(room.code)
    right.button("Close the room", key="close_room_button", on_click=lambda: rooms.close(_store(), room.code), help="Its board and its members go; runs stay with their owners.")
    return room.code
