"""The line under the page list: which day the marts describe and when they were published."""

from __future__ import annotations

import streamlit as st

from dashboard import formatting as fmt
from dashboard import page_kit as kit
from dashboard import served
from dashboard.served import ServedWarehouse


def fetch(db: ServedWarehouse) -> kit.Frames:
    return {
        "last": db.frame(
            "select as_of_date, published_at from main.publish_log order by published_at desc limit 1"
        )
    }


def publish_status() -> None:
    with st.sidebar:
        path = served.served_path()
        if served.file_stamp(path) is None:
            st.caption("No published warehouse yet.")
            return
        try:
            with served.open_served(path) as db:
                if db is None or "main.publish_log" not in db.tables():
                    st.caption("Nothing published yet.")
                    return
                last = fetch(db)["last"]
        except served.ServedFileError:
            st.caption("The served warehouse cannot be read.")
            return
        if last.empty:
            st.caption("Nothing published yet.")
            return
        row = last.iloc[0]
        age = kit.utcnow() - row.published_at.to_pydatetime()
        st.caption(
            f"Marts as of **{fmt.date(row.as_of_date)}**  \n"
            f"published {fmt.age(age)} ago ({kit.md(fmt.timestamp(row.published_at))})"
        )
