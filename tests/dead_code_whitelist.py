"""Names vulture cannot see used, read by `vulture` (pyproject [tool.vulture]) as if used here.

Routes, validators and SQLAlchemy event listeners are skipped by their decorators in the config.
Everything below is alive for a reason vulture cannot follow; the reason heads each group. A
name that is really dead is deleted, not added here. `tests/test_dead_code.py` keeps it honest.
"""

from vulture.whitelist_utils import Whitelist

_ = Whitelist()

# Fields read by serialization: pydantic wire models (from_attributes), the ORM columns and
# dataclasses they are built from, pydantic's model_config.
_.model_config
_.author_display_name
_.captions_url
_.contributor_count
_.cover_segment_id
_.cover_url
_.created_by
_.delivered_at
_.detached_at
_.disabled_reason
_.event_seq
_.event_type
_.export_url
_.exported_at
_.from_
_.from_sequence
_.highlights
_.hls_playlist_url
_.idea_count
_.idea_title
_.last_attempt_at
_.last_error
_.last_login_at
_.last_status_code
_.object_sha256
_.playlist_url
_.resolution_notes
_.resolved_at
_.resolved_by
_.reviewed_at
_.reviewed_by
_.scene_title
_.skipped_because
_.snippet
_.source_job_id
_.table_name
_.target_status
_.target_summary
_.token_type
_.touched_at
_.unused_indexes
_.video_url

# Enum members matched by their stored value, never by name.
_.EXPORT  # JobType
_.ERROR  # JobStage
_.TOPIC  # TargetType
_.REMOVE  # ModerationAction

# Called by the runtime: asyncio's child-watcher protocol, signatures a protocol fixes,
# the module __getattr__ (PEP 562) arq's CLI reaches WorkerSettings through, exception chaining.
_.attach_loop
_.add_child_handler
_.remove_child_handler
_.exc_info
_.signum
_.proxy
_.__getattr__
_.__cause__
# arq's Worker reads these of its subclass: the in-progress key's lifetime, the signal handler.
_.in_progress_timeout_s
_.handle_sig

# The continuity violation's wire shape: documented for clients (result_data's description and
# the web app's underlining read these keys from JSON), built as dicts by domain.bible.schema.
_.ContinuityViolationOut
_.sentence_start
_.sentence_end
_.quoted_span

# The deleted-items list's field: carried from domain.moderation.reads to its wire model by vars().
_.restore_until

# Used only by tests: interface methods the tests drive (Storage.put_bytes, writable_dir),
# and references the fast paths are checked against (media.package_hls for infra.packaging).
_.put_bytes
_.writable_dir
_.package_hls
_.video_profile
_.score_hours
_.STATE_FIELDS
_.read_tokens
_.text_violations
_.key_ids
_.key_id_of

# The session-bound lists of scenes and ideas: the discovery benchmark and the query-plan tests
# read them (the routes run prepared statements on the driver: domain/scenes/read_repository.py,
# domain/ideas/repository.page_rows).
_.list_scenes
_.list_ideas
