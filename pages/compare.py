"""Compare: the session's runs on one chart, their settings side by side, and a sample of each."""

import pandas as pd
import streamlit as st

from playground import analysis, runs
from playground.ui import common
from playground.limits import Caps
from playground.presets import CUSTOM, DEFAULT_PRESET, preset_text
from playground.state import SETTING_NAMES, Settings, label
from playground.plain_text import escape_markdown
from playground.store import StoreFull

COMPARISON_SECONDS = 8.0  # each variant of a comparison trains this long at most, or to its epochs


def train_settings():
    """The text, preset and settings the Train page holds (its defaults before a first visit),
    with what a presenter link locked."""
    values = {name: st.session_state[name] for name in SETTING_NAMES if name in st.session_state}
    locked, text_locked, _ = st.session_state.get("locked", ({}, False, []))
    values.update(locked)
    if text_locked and "locked_text" in st.session_state:
        text, preset = st.session_state["locked_text"]
    else:
        preset = st.session_state.get("preset", DEFAULT_PRESET)
        text = st.session_state.get("text") or (preset_text(preset) if preset != CUSTOM else "")
    return text, Settings(**values), None if preset == CUSTOM else preset


def run_comparison(comparison):
    """Hand the comparison's variants to the training service; comparison_progress watches them."""
    title, _ = runs.COMPARISONS[comparison]
    text, settings, preset = train_settings()
    try:
        variants = runs.comparison_runs(comparison, text, settings, preset)
    except ValueError as error:
        st.session_state["compare_error"] = f"{title} cannot run with the Train page's settings: {error}"
        return
    st.session_state["compare_error"] = None
    common.service().train_comparison(common.my_runs(), [(f"{title}: {name}", run) for name, run in variants], COMPARISON_SECONDS)
    st.rerun()


def comparison_progress():
    """The comparison training now, redrawn while it trains; once it ends, its runs are chosen."""
    owner = common.my_runs()
    if not owner.comparison:
        return
    st.fragment(_comparison_progress, run_every=common.service().watch_interval(1.0))()


def _comparison_progress():
    owner = common.my_runs()
    variants = owner.comparison
    if not variants:
        return
    if any(run.training or run.keep_as is not None for _, run in variants):
        done = sum(min(run.train_seconds / COMPARISON_SECONDS, run.trainer.epoch_fraction / run.target_epochs, 1.0) if run.training else 1.0 for _, run in variants)
        st.progress(done / len(variants), text=" · ".join(f"{escape_markdown(name)}: epoch {run.trainer.epoch_fraction:.1f}" for name, run in variants))
        return
    problems = []
    for name, run in variants:
        if run.status == "diverged":
            problems.append(f"{name}: {run.message}")
        elif run.epoch == 0:
            problems.append(f"{name} did not finish an epoch in {COMPARISON_SECONDS:g} s: use a shorter text or smaller settings on the Train page.")
    owner.comparison = []
    st.session_state["compare_error"] = " ".join(problems) or None
    comparison_ids = {run.run_id for _, run in variants}
    st.session_state["compare_selected"] = [record.run_id for record in owner.kept if record.run_id in comparison_ids]
    st.rerun()


def _import_runs():
    uploaded = st.session_state.get("runs_upload")
    if uploaded is None:
        return
    owner = common.my_runs()
    with owner.lock:
        kept_before = {record.run_id for record in owner.kept}
        try:
            runs.import_records(uploaded.getvalue(), owner.kept, Caps.from_environment().runs_kept)
            for record in owner.kept:
                if record.run_id not in kept_before:
                    common.service().save_record(owner, record)
        except (ValueError, StoreFull) as error:  # StoreFull: the records past the cap stay for this visit only
            st.session_state["compare_error"] = f"{uploaded.name}: {error}"
            return
    st.session_state["compare_error"] = None
    st.session_state["compare_selected"] = [record.run_id for record in owner.kept if record.run_id not in kept_before]


def comparisons():
    with st.expander("One-click comparisons", expanded=not common.kept_runs()):
        st.caption(f"Each trains variants of the Train page's settings on its text, up to {COMPARISON_SECONDS:g} s each, and adds them here.")
        for column, (comparison, (title, _)) in zip(st.columns(len(runs.COMPARISONS)), runs.COMPARISONS.items()):
            if column.button(title, key=f"comparison_{comparison}", width="stretch"):
                run_comparison(comparison)


def curves_chart(selected):
    by = st.radio("Along", ["epoch", "seconds"], horizontal=True, key="compare_by")
    show = st.pills("Curves", ["train", "validation"], selection_mode="multi", default=["train", "validation"], key="compare_curves")
    figure = common.runs_figure(selected, by, "train" in show, "validation" in show)
    texts = {(record.text, record.settings.val_fraction) for record in selected}
    if len(texts) == 1 and None not in next(iter(texts)):
        common.add_baselines(figure, analysis.baselines(*next(iter(texts))))
        note = common.BASELINE_CAPTION
    elif len(texts) == 1:
        note = "These runs came without their training text (imported): the counting baselines cannot be drawn."
    else:
        note = "These runs were trained on different texts or validation parts: each has its own counting baselines, so none is drawn. Pick runs of one text to see them."
    st.plotly_chart(figure, key="compare_chart", config={"displayModeBar": False})
    st.caption(note)


def settings_table(selected):
    differing = {label(name) if name != "text" else "Text" for name in runs.differing_settings(selected)}
    table = pd.DataFrame(runs.settings_rows(selected)).set_index("setting")
    styled = table.style.apply(lambda row: [f"background-color: {common.MARK_BACKGROUND}; font-weight: 700" if row.name in differing else "" for _ in row], axis=1)
    st.dataframe(styled, key="compare_settings")
    st.caption("Highlighted: the settings that differ." if differing else "These runs share every setting.")


def samples(selected):
    left, right = st.columns([3, 1])
    prime = left.text_input("Prime", value=selected[0].vocab.chars[0] if selected else "", key="compare_prime", max_chars=200)
    seed = right.number_input("Seed", 0, 2**31 - 1, 0, key="compare_seed")
    key = (tuple((record.run_id, record.name, record.progress) for record in selected), prime, int(seed))
    cached = st.session_state.get("compare_samples")
    if cached is None or cached[0] != key:  # sampling every run again on each click of the page costs seconds
        cached = st.session_state["compare_samples"] = (key, runs.samples(selected, prime, int(seed)))
    for record in selected:
        st.markdown(f"**{escape_markdown(record.name)}**")
        common.show_sample(cached[1][record.name], record.text, copy_length, prime=prime)


def manage(records):
    with st.expander("Rename, delete, export, import"):
        by_id = {record.run_id: record for record in records}
        chosen = st.selectbox("Run", list(by_id), format_func=lambda run_id: by_id[run_id].name, key="manage_run") if records else None
        if chosen is not None:
            record = by_id[chosen]
            new_name = st.text_input("New name", value=record.name, key=f"rename_{record.run_id}")
            rename, delete = st.columns(2)
            if rename.button("Rename", key="rename_button"):
                try:
                    runs.rename(records, record, new_name)
                    common.service().save_record(common.my_runs(), record)
                    st.rerun()
                except (ValueError, StoreFull) as error:
                    st.error(escape_markdown(str(error)))
            if delete.button("Delete", key="delete_button"):
                common.service().delete_record(common.my_runs(), record)
                st.rerun()
            st.download_button("Export all runs (.zip)", data=lambda: runs.export_bytes(records), file_name="char-rnn-runs.zip", mime="application/zip", on_click="ignore", key="export_runs")
        st.file_uploader("Import runs (.zip)", type=["zip"], key="runs_upload", on_change=_import_runs, max_upload_size=Caps.from_environment().upload_mb)
    forget_my_runs()


def forget_my_runs():
    """Delete every run of this browser, from this server's store too, after a question."""
    with st.expander("Forget my runs"):
        st.caption("Your runs are kept on this server for this browser (a cookie, no account) until they go unopened for "
                   f"{Caps.from_environment().idle_days} days. This deletes all of them at once, the current one too.")
        if st.checkbox("Yes, delete every run of mine", key="forget_confirm"):
            st.button("Forget my runs", key="forget_button", type="primary", on_click=_forget)


def _forget():
    common.service().forget(common.my_runs())
    st.session_state["forget_confirm"] = False
    st.session_state.pop("compare_selected", None)
    st.toast("Every run of yours is gone from this server.")

st.title("Compare runs")
copy_length = common.copy_length()
common.keep_current_run()
records = common.kept_runs()
comparisons()
comparison_progress()
if st.session_state.get("compare_error"):
    st.error(escape_markdown(st.session_state["compare_error"]))
if not records:
    st.info("Runs appear here when they finish or are stopped on the Train page, or from a comparison above.")
else:
    by_id = {record.run_id: record for record in records}  # chosen by id: a renamed run stays chosen
    if "compare_selected" not in st.session_state:
        st.session_state["compare_selected"] = list(by_id)[-3:]
    st.session_state["compare_selected"] = [run_id for run_id in st.session_state["compare_selected"] if run_id in by_id]
    picked = st.multiselect("Runs to compare", list(by_id), format_func=lambda run_id: by_id[run_id].name, key="compare_selected")
    selected = [record for record in records if record.run_id in picked]
    if selected:
        curves_chart(selected)
        st.header("Results")
        st.dataframe(pd.DataFrame(runs.summary_rows(selected)).set_index("run"), key="compare_summary")
        st.header("Settings")
        settings_table(selected)
        st.header("Samples from the same prime and seed")
        samples(selected)
manage(records)
