"""Machine-local state of the spaces this machine reads.

Two kinds, kept apart on purpose:

* **caches** (:mod:`.index`, the board index; :mod:`.objectcache`, fetched objects):
  derived from the store, rebuilt by the next read if deleted, corrupt or of an
  older schema;
* **state** (:mod:`.cursors`): what an agent has been shown and has acknowledged.
  It must survive: it lives in the state folder, never in the cache, and a
  change to a cache's schema never touches it.

How each kind heals when its file is damaged or cannot be written is :mod:`.heal`'s
policy: caches are rebuilt (or kept in memory), state is kept aside, never deleted; each
event is said in one line.

The store is always the truth; nothing here is ever written to it.
"""
