"""A gateway space (``http(s)://``) as a :class:`~collabspace.space.Space`: the same API and commands.

Reads are the direct mode's own read model over :class:`~collabspace.storage.gateway.GatewayStore`
(listings and objects from the gateway's cached read view), so ``read``, ``inbox``, ``search``,
``digest``, ``leaderboard``, ``claims`` and ``doctor`` are the same functions in both modes.
Writes go to the gateway's API instead of the store: the gateway checks the token, composes the
key, stamps ``agent``, its own ``timestamp`` and ``via: gateway``, and scores predictions itself.
Each write's answer names what was stored; it is read back through the same read model, so a
command prints the same objects in both modes.
"""

from __future__ import annotations

import json
import tarfile
import tempfile
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .domain import artifacts as artifact_files
from .domain import safejson
from .domain.board.claims import Claim, ClaimResult, scope_slug
from .domain.board.messages import Message, parse_message
from .domain.results import invalidation
from .domain.results import results as result_files
from .domain.setup import agents
from .domain.timefmt import utcnow
from .errors import Conflict, Forbidden, InvalidInput, NotFound
from .local import tokens
from .scorers import ScoreReport
from .space import JoinResult, Space
from .storage.gateway import GatewayClient, GatewayStore


class RemoteSpace(Space):
    """A space served by a gateway.

    Args:
        url: the gateway's address.
        agent: the acting agent (default: the only agent whose token is stored for this gateway).
        token: the bearer token (default: ``COLLAB_TOKEN``, else the stored one of ``agent``).
    """

    def __init__(self, url: str, *, agent: str | None = None, clock: Callable[[], datetime] = utcnow,
                 token: str | None = None) -> None:
        found, who = tokens.lookup(url, agent) if token is None else (token, agent or tokens.token_agent(token))
        self.client = GatewayClient(url, found)
        super().__init__(GatewayStore(self.client), agent=agent or who, clock=clock)

    # -- identity -------------------------------------------------------------------------------
    def join(self, *, model: str | None = None, harness: str | None = None, tools: list[str] | None = None,
             bio: str = "", invite: str | None = None) -> JoinResult:
        """Join the gateway's space: with an ``invite``, bind the agent id to a new token (kept in the
        user's config folder, mode 0600); without, re-join with the stored token."""
        agent = self.agent
        reg = {"model": model, "harness": harness, "tools": tools, "bio": bio}
        if invite:
            token = tokens.new_token(agent)
            out = self.client.json("POST", "/v1/join", body={"agent": agent, "invite": invite, "token": token, **reg})
            tokens.save(self.client.url, agent, token)
            self.client.token = token
        else:
            if not self.client.token:
                raise InvalidInput(f"no token for {agent} at {self.url}",
                                   hint=f"join with an invite: collab join --space {self.url} --agent {agent} "
                                   "--invite CODE (or set COLLAB_TOKEN)")
            out = self.client.json("POST", "/v1/agents", body={"agent": agent, **reg})
        key = out["key"]
        return JoinResult(registration=agents.parse_registration(key, self.store.get(key)), created=out["created"],
                          key=key)

    def set_organizers(self, organizers: Sequence[str]) -> Any:
        """Organizers change only through the gateway's operator, where the store's credentials are."""
        raise Forbidden(f"{self.url} is a gateway: its organizers change only through its operator",
                        hint="where the store's credentials are: collab gateway token STORE ID --organizer")

    def change_organizers(self, *, add: Sequence[str] = (), remove: Sequence[str] = ()) -> list[str]:
        return self.set_organizers(())

    # -- board ----------------------------------------------------------------------------------
    def post(self, type: str, body: str, *, topic: str | None = None, refs: Sequence[str] = (),
             broadcast: bool = False) -> Message:
        agent = self.agent
        read_to = self.board.cursors.latest(agent)
        out = self.client.json("POST", "/v1/messages", body={
            "agent": agent, "type": type, "body": body, "topic": topic, "refs": list(refs), "broadcast": broadcast,
            "read_to": read_to.rsplit("/", 1)[-1] if read_to else None})
        return self._stored_message(out)

    def _stored_message(self, out: dict[str, Any]) -> Message:
        """The message a write stored, parsed from the bytes the gateway returned, and indexed here."""
        key = out["key"]
        message = parse_message(key, out["stored"].encode() if "stored" in out else self.store.get(key))
        self.board.index.add(message, now=self.clock())
        return message

    def claim(self, scope: str, *, duration: str | None = None, note: str = "", force: bool = False) -> ClaimResult:
        agent = self.agent
        out = self.client.json("POST", "/v1/claims", body={"agent": agent, "scope": scope, "duration": duration,
                                                           "note": note, "force": force})
        message = self._stored_message(out)
        return ClaimResult(claim=self._claim_of(agent, scope, message.file), message=message,
                           renewed=bool(out["renewed"]), contested=bool(out["contested"]))

    def release(self, scope: str) -> Claim:
        agent = self.agent
        out = self.client.json("POST", "/v1/claims/release", body={"agent": agent, "scope": scope})
        claim = out["claim"]
        found = [c for c in self._claim_book.states(sync=True)
                 if c.agent == agent and c.slug == scope_slug(scope) and c.ended is not None]
        if found:
            return found[0]
        raise NotFound(f"released, but the release of {claim.get('scope')!r} is not on the board yet",
                       hint="collab claims --all shows it after the next refresh")

    def _wait_for_news(self, seconds: float) -> None:
        """Long-poll the gateway: it answers as soon as a message arrives after the newest one known here."""
        after = self.__dict__.get("_watch_after")
        if after is None:
            newest = self.board.index.messages(limit=1)
            after = newest[-1].file if newest else None
        out = self.client.json("GET", "/v1/messages", query={"after": after, "wait": 30, "limit": 100})
        self.__dict__["_watch_after"] = out.get("cursor") or after

    def _claim_of(self, agent: str, scope: str, file: str) -> Claim:
        for c in self._claim_book.states(sync=True):
            if c.agent == agent and c.slug == scope_slug(scope) and (file in c.files or c.file == file):
                return c
        raise Conflict(f"the claim {file} was posted, but it does not hold {scope!r}",
                       hint="collab claims shows who holds it")

    # -- results --------------------------------------------------------------------------------
    def submit(self, experiment: str, *, score: float | str | None = None, predictions: bytes | None = None,
               name: str | None = None, model: str | None = None, notes: str | None = None,
               track: str | None = None, fields: Sequence[str] = (), refs: Sequence[str] = (),
               artifacts: Sequence[str] = (), negative: bool = False) -> result_files.Submission:
        if predictions is not None:
            try:
                text = predictions.decode("utf-8")
            except UnicodeDecodeError:
                raise InvalidInput("the predictions file is not UTF-8 text", hint="save it as UTF-8 JSONL") from None
        else:
            text = None
        out = self.client.json("POST", "/v1/results", body={
            "agent": self.agent, "experiment": experiment, "score": score, "predictions": text, "name": name,
            "model": model, "notes": notes, "track": track, "fields": list(fields), "refs": list(refs),
            "artifacts": list(artifacts), "negative": negative})
        key = out["key"]
        document = safejson.loads(self.store.get(key), what=key)
        report = None
        if "correct" in out:
            ver = document.get("verification") if isinstance(document, dict) else None
            ver = ver if isinstance(ver, dict) else {}
            report = ScoreReport(scorer=str(ver.get("scorer", "")), version=str(ver.get("version", "")),
                                 split=str(ver.get("split", "")), score=float(out["score"]),
                                 correct=int(out["correct"]), total=int(out["total"]),
                                 data_sha256=str(ver.get("data_sha256", "")))
        return result_files.Submission(key=key, status=out["status"], score=out["score"], reason=out.get("reason"),
                                       document=document if isinstance(document, dict) else {}, report=report)

    def invalidate(self, result: str, reason: str, *, reverse: bool = False) -> invalidation.Verdict:
        out = self.client.json("POST", "/v1/verdicts", body={"agent": self.agent, "result": result, "reason": reason,
                                                             "reverse": reverse})
        key = out.get("key")
        if key:
            return invalidation.parse_verdict(key, self.store.get(key))
        return invalidation.Verdict(key="", result=out["result"], by=out["by"], reason=out["reason"], timestamp=None)

    def write_leaderboard(self) -> Any:
        """The gateway regenerates ``LEADERBOARD.md`` after every write; here it is only read."""
        return self.leaderboard()

    def _repair_leaderboard(self, snap: Any) -> None:
        """The gateway repairs a leaderboard left behind; a client never writes it."""

    def _publish_after_write(self) -> None:
        """Done by the gateway."""

    # -- artifacts ------------------------------------------------------------------------------
    def push(self, path: str, *, kind: str | None = None, name: str | None = None, replace: bool = False,
             progress: artifact_files.Progress | None = None) -> artifact_files.PushReport:
        """Send the file or folder to the gateway as one tar (streamed from a temporary file, with progress);
        the gateway names it after the token's agent and pushes it as :meth:`Space.push` does."""
        src = Path(path).expanduser()
        if not src.exists():
            raise NotFound(f"nothing at {src.resolve()}", hint="give a file or a folder to push")
        with tempfile.TemporaryFile() as tmp:
            with tarfile.open(fileobj=tmp, mode="w") as tar:
                tar.add(str(src), arcname=src.resolve().name, recursive=True,
                        filter=lambda t: t if (t.isfile() or t.isdir()) else None)
            size = tmp.tell()
            tmp.seek(0)
            if progress is not None:
                progress.start(size, 1)
            body = _Reading(tmp, progress)
            _, _, payload = self.client.request(
                "POST", "/v1/artifacts", data=body, content_type="application/x-tar",
                headers={"Content-Length": str(size)},
                query={"kind": kind, "name": name, "replace": str(replace).lower(), "agent": self.agent})
        out = json.loads(payload)
        return artifact_files.PushReport(key=out["key"], folder=out["folder"], uploaded=out["uploaded"],
                                         skipped=out["skipped"], deleted=out["deleted"], bytes_sent=out["bytes_sent"],
                                         created=out["created"])

    def delete_artifact(self, key: str) -> list[str]:
        out = self.client.json("DELETE", "/v1/artifacts/" + quote(key, safe="/"), query={"agent": self.agent})
        return list(out["deleted"])

    def quarantine(self, key: str, reason: str) -> dict[str, object]:
        return self.client.json("POST", "/v1/quarantine", body={"agent": self.agent, "key": key, "reason": reason})


class _Reading:
    """A file read for upload, reporting its bytes to a progress bar; rewound by a retry."""

    def __init__(self, f: Any, progress: artifact_files.Progress | None) -> None:
        self.f, self.progress = f, progress

    def read(self, n: int = -1) -> bytes:
        data = self.f.read(n)
        if data and self.progress is not None:
            self.progress.advance(len(data))
        return data

    def seek(self, pos: int) -> int:
        return self.f.seek(pos)


def open_remote(url: str, *, agent: str | None = None, clock: Callable[[], datetime] = utcnow) -> RemoteSpace:
    """Open a gateway space (see :class:`RemoteSpace`)."""
    return RemoteSpace(url, agent=agent, clock=clock)

