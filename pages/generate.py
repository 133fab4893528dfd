"""Generate: sample synthetic rows (optionally conditioned or rebalanced) and download them."""

from __future__ import annotations

import streamlit as st

from core.errors import StudioError
from core.generation import EXPORT_FORMATS, GeneratedSample, export_bytes, generate
from core.registry import ModelRecord
from core.schema import TableSchema
from core.table import StudioTable
from pages.shared import caching, state
from pages.shared.ui import progress_bar, require_dataset, user_errors

MAX_CLASSES = 20

st.title("Generate")
st.caption(
    "Draw new rows from the trained model. Every row is invented: no real row is copied "
    "on purpose (the Evaluate page checks whether any were anyway)."
)
state.show_flash()
if not require_dataset():
    st.stop()
table: StudioTable = state.get_dataset()
record: ModelRecord | None = state.get(state.CURRENT_MODEL)
if record is None or record.data_fingerprint != table.fingerprint:
    st.info("Train a model first (or pick one of this dataset's saved models).",
            icon=":material/info:")
    st.page_link("pages/train.py", label="Go to the Train page", icon=":material/model_training:")
    st.stop()

st.markdown(f"Model: **{record.label}** · trained on {record.train_rows:,} real rows")
schema = TableSchema.from_fingerprint_dict(record.schema)
real_train, _holdout = caching.real_parts_for(table, record)

left, right = st.columns(2)
rows = left.number_input(
    "Rows to generate", min_value=1, max_value=5_000_000, value=record.train_rows, step=1000,
    key="gen_rows", help="By default as many as the real training part, for a fair comparison.",
)
seed = right.number_input("Seed", 0, 2**31 - 1, 0, key="gen_seed",
                          help="Same model + seed + settings → the same rows.")

categorical = [c for c in schema.modelled_columns
               if real_train[c].nunique() <= MAX_CLASSES]
fixed_values: dict[str, object] = {}
shares: dict[str, float] = {}
rebalance_column: str | None = None
with st.expander("Conditions (optional)", icon=":material/filter_alt:"):
    st.markdown(
        "**Fix values**: every generated row gets these values (e.g. only `state = CA`). "
        "**Rebalance**: choose how common each class is, e.g. more fraud cases to train a "
        "detector. Gaussian Copula conditions exactly; CTGAN/TVAE/CopulaGAN generate rows and "
        "keep the matching ones, which fails for very rare values."
    )
    fix_columns = st.multiselect("Columns to fix", categorical, key="gen_fix_columns")
    for column in fix_columns:
        options = sorted(real_train[column].dropna().unique().tolist(), key=str)
        fixed_values[column] = st.selectbox(f"{column} =", options, key=f"gen_fix_{column}")
    rebalance_options = [c for c in categorical if c not in fix_columns]
    if rebalance_options:
        default = table.target if table.target in rebalance_options else rebalance_options[0]
        rebalance_on = st.toggle("Rebalance a column's classes", key="gen_rebalance")
        if rebalance_on:
            rebalance_column = st.selectbox("Column", rebalance_options, key="gen_rebalance_col",
                                            index=rebalance_options.index(default))
            real_shares = real_train[rebalance_column].astype(str).value_counts(normalize=True)
            cols = st.columns(min(len(real_shares), 4))
            for index, (label, share) in enumerate(real_shares.items()):
                shares[label] = cols[index % len(cols)].number_input(
                    f"{label} (real: {share:.1%})", 0.0, 100.0, round(share * 100, 1), 1.0,
                    key=f"gen_share_{rebalance_column}_{label}", format="%.1f",
                ) / 100

if st.button("Generate", type="primary", key="gen_start", icon=":material/auto_awesome:"):
    with user_errors("generating rows"):
        synthesizer = caching.synthesizer(record.model_id)
        report, bar = progress_bar("Generating…")
        sample = generate(
            synthesizer, record.model_id, int(rows), seed=int(seed), schema=schema,
            real_example=real_train, fixed_values=fixed_values or None,
            rebalance_column=rebalance_column, class_shares=shares or None, progress=report,
        )
        bar.empty()
        state.put(state.SYNTHETIC, sample)
        state.flash(f"Generated {len(sample.frame):,} rows in {sample.seconds:.1f} s.")
        st.rerun()

sample: GeneratedSample | None = state.get(state.SYNTHETIC)
if sample is None or sample.model_id != record.model_id:
    st.stop()

st.divider()
st.subheader(f"{len(sample.frame):,} synthetic rows")
details = [f"seed {sample.seed}"]
if sample.fixed_values:
    details.append("fixed: " + ", ".join(f"{k} = {v}" for k, v in sample.fixed_values.items()))
if sample.class_shares:
    details.append(f"rebalanced {sample.rebalanced_column}: " + ", ".join(
        f"{k} {v:.0%}" for k, v in sample.class_shares.items()))
st.caption(" · ".join(details))
st.dataframe(sample.frame.head(200), width="stretch", height=320)
if table.target and table.target in sample.frame.columns:
    real_share = real_train[table.target].astype(str).value_counts(normalize=True)
    synth_share = sample.frame[table.target].astype(str).value_counts(normalize=True)
    st.caption(
        f"Class shares of **{table.target}** — real: "
        + ", ".join(f"{k} {v:.1%}" for k, v in real_share.items())
        + " · synthetic: " + ", ".join(f"{k} {v:.1%}" for k, v in synth_share.items())
    )

columns = st.columns(len(EXPORT_FORMATS))
for column, (fmt, (extension, mime)) in zip(columns, EXPORT_FORMATS.items(), strict=True):

    def payload(fmt: str = fmt) -> bytes:
        """Build the file only when the button is clicked."""
        try:
            return export_bytes(sample.frame, fmt)
        except StudioError as error:
            return str(error).encode()

    disabled = fmt == "Excel" and len(sample.frame) > 1_048_575
    column.download_button(
        f"Download {fmt}", data=payload, file_name=f"synthetic_{table.name.rsplit('.', 1)[0]}"
        f".{extension}", mime=mime, key=f"gen_download_{extension}", disabled=disabled,
        icon=":material/download:",
        help="Excel holds at most 1,048,575 rows; use CSV or Parquet." if disabled else None,
    )
st.page_link("pages/evaluate.py", label="Evaluate these rows", icon=":material/arrow_forward:")
