"""Account: who you are, and your personal API tokens (make one, shown once; revoke one)."""

import streamlit as st

from duet_core.identity import is_identity_key
from duet_core.store.tokens import ApiTokens
from duet_ui.shared.transcript import escape_markdown
from duet_ui.shell.services import current_viewer, services
from duet_ui.shell.tokens import token_panel

viewer = current_viewer()
svc = services()
st.title(":material/account_circle: Account", anchor=False)
if is_identity_key(viewer.username):  # signed in through the organisation's identity provider
    st.write(f"**{escape_markdown(viewer.name)}** ({', '.join(viewer.roles)}).")
    st.markdown(  # not a caption: its code would fade below AA contrast
        "Signed in through your organisation's identity provider: your role comes from your"
        f" groups there. Your runs and tokens belong to `{viewer.username}`."
    )
else:
    st.write(f"Signed in as **{viewer.username}** ({', '.join(viewer.roles)}).")

st.subheader("API tokens")
st.markdown(  # not a caption: its link and code would fade below AA contrast
    "A token lets a program use Duet's HTTP API as you (`Authorization: Bearer <token>`); "
    "see the [API docs](/api/docs). It is shown once, when it is made: only a hash is kept."
)
if svc.settings.dev_mode:
    st.info("Development mode: the API needs no token.", icon=":material/info:")
token_panel(ApiTokens(svc.store), viewer.username)
