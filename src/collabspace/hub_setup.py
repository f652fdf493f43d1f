"""``collab init hf://...``: the template's six manual set-up steps as one command.

1. confirm the names (namespace from ``whoami``; bucket ``{task}-collab``;
   Space ``{task}-leaderboard``; Collection ``{Title} - Agent Collaboration``);
2. create the bucket; 3. write the space files; 4. create the static
   leaderboard Space; 5. create the Collection holding both; 6. print the
   prompt that points an agent at the space.

A failure half-way raises an error that says what was created and how to
finish (re-run with ``--exist-ok``) or undo.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .domain.setup.spec import Spec
from .errors import CollabError, Conflict, InvalidInput
from .space import Space
from .storage.hf import HFBucketStore, HubAdmin, parse_hf_url

HUB = "https://huggingface.co"


@dataclass(frozen=True)
class HubPlan:
    """The names ``collab init`` will use on the Hub."""

    namespace: str
    bucket_id: str
    prefix: str
    space_id: str
    collection_title: str
    private: bool

    @property
    def space_url(self) -> str:
        """The collab space's address, for ``--space`` / ``COLLAB_SPACE``."""
        return f"hf://buckets/{self.bucket_id}" + (f"/{self.prefix}" if self.prefix else "")

    @property
    def bucket_web_url(self) -> str:
        """The bucket's public base URL (files under ``/resolve/``)."""
        return f"{HUB}/buckets/{self.bucket_id}"

    def describe(self) -> list[str]:
        visibility = "private" if self.private else "public"
        return [
            f"namespace:   {self.namespace}",
            f"bucket:      {self.bucket_id} ({visibility})" + (f", space under {self.prefix}/" if self.prefix else ""),
            f"Space:       {self.space_id} (static leaderboard page)",
            f"Collection:  {self.collection_title!r} in {self.namespace}",
        ]


@dataclass
class HubSetup:
    """What :func:`create_on_hub` made."""

    plan: HubPlan
    created: list[str] = field(default_factory=list)
    space_page: str | None = None
    collection_slug: str | None = None

    def agent_prompt(self) -> str:
        """The one line that points an agent at the space."""
        return (
            f"Join the multi-agent collaboration at {self.plan.space_url}: `pip install collabspace`, then "
            f"`export COLLAB_SPACE={self.plan.space_url} COLLAB_AGENT=<your-id>` and run `collab join "
            f"--model <model> --harness <harness>`; read README.md there first."
        )


def connect() -> HubAdmin:
    """The Hub, authenticated the usual way (``HF_TOKEN`` or the login saved by ``hf auth login``)."""
    return HubAdmin()


def plan_on_hub(url: str, spec: Spec, admin: HubAdmin, *, private: bool = False) -> HubPlan:
    """Work out the names from the address and ``whoami``.

    ``hf://`` alone takes the defaults; ``hf://buckets/NS/NAME[/prefix]`` names the bucket.

    Raises:
        InvalidInput: the namespace is neither the user nor one of their orgs.
    """
    user, orgs = admin.whoami()
    if url.rstrip("/") in ("hf:", "hf://buckets", "hf:/"):
        namespace, bucket_id, prefix = user, f"{user}/{spec.task.id}-collab", ""
    else:
        bucket_id, prefix = parse_hf_url(url)
        namespace = bucket_id.split("/")[0]
    if namespace not in (user, *orgs):
        raise InvalidInput(
            f"you ({user}) cannot create resources in {namespace!r}",
            hint=f"use one of: {', '.join([user, *orgs])}, e.g. hf://buckets/{user}/{spec.task.id}-collab",
        )
    return HubPlan(
        namespace=namespace,
        bucket_id=bucket_id,
        prefix=prefix,
        space_id=f"{namespace}/{spec.task.id}-leaderboard",
        collection_title=f"{spec.task.title} - Agent Collaboration",
        private=private,
    )


def create_on_hub(
    plan: HubPlan,
    spec: Spec,
    admin: HubAdmin,
    *,
    page_files: dict[str, bytes],
    exist_ok: bool = False,
    progress: Callable[[str], None] = lambda line: None,
) -> HubSetup:
    """Create the bucket, the space files, the leaderboard Space and the Collection.

    Raises:
        Conflict: the bucket exists and ``exist_ok`` is false (nothing is changed).
        CollabError: a step failed; the message lists what was created before it.
    """
    setup = HubSetup(plan=plan)
    if not exist_ok and admin.bucket_exists(plan.bucket_id):
        raise Conflict(
            f"bucket {plan.bucket_id} already exists; nothing was changed",
            hint="pass --exist-ok to use it (its space folder must be empty), or choose another name",
        )
    steps = [
        ("create the bucket", lambda: _bucket(admin, plan, exist_ok, setup)),
        ("write the space files", lambda: _files(admin, plan, spec, setup)),
        ("create the leaderboard Space", lambda: _page(admin, plan, page_files, setup)),
        ("create the Collection", lambda: _collection(admin, plan, spec, setup)),
    ]
    for what, step in steps:
        progress(f"{what}...")
        try:
            step()
        except CollabError as exc:
            done = "; ".join(setup.created) or "nothing"
            raise type(exc)(
                f"could not {what}: {exc.message} (created so far: {done})",
                hint=(f"fix the cause and re-run `collab init {plan.space_url} --exist-ok --yes` to finish, or undo "
                      f"with `hf buckets delete {plan.bucket_id}` and `hf repos delete {plan.space_id} "
                      "--repo-type space`"),
            ) from exc
    return setup


def _bucket(admin: HubAdmin, plan: HubPlan, exist_ok: bool, setup: HubSetup) -> None:
    admin.create_bucket(plan.bucket_id, private=plan.private, exist_ok=exist_ok)
    setup.created.append(f"bucket {plan.bucket_id}")


def _files(admin: HubAdmin, plan: HubPlan, spec: Spec, setup: HubSetup) -> None:
    store = HFBucketStore(plan.bucket_id, plan.prefix, api=admin.api, sleep=admin._caller.sleep)
    try:
        Space.init(store, spec)
    except Conflict:
        if not (store.exists("collab.toml") and Space(store).spec == spec):
            raise
        return  # finishing an earlier, interrupted run: the files are there already
    finally:
        admin._caller.calls += store.calls
    setup.created.append(f"space files in {plan.space_url}")


def _page(admin: HubAdmin, plan: HubPlan, files: dict[str, bytes], setup: HubSetup) -> None:
    setup.space_page = admin.create_static_space(plan.space_id, files, private=plan.private)
    setup.created.append(f"Space {plan.space_id}")


def _collection(admin: HubAdmin, plan: HubPlan, spec: Spec, setup: HubSetup) -> None:
    setup.collection_slug = admin.create_collection(
        plan.collection_title,
        plan.namespace,
        description=f"Agents collaborating on {spec.task.title}: {spec.metric.name}, "
        f"{'higher' if spec.metric.direction == 'higher' else 'lower'} is better.",
        items=[(plan.bucket_id, "bucket"), (plan.space_id, "space")],
        private=plan.private,
    )
    setup.created.append(f"Collection {setup.collection_slug}")
