"""Seed for bench_discovery: 100,000 ideas, 20,000 scenes and a week of engagement, in SQL.

Text comes from word lists so full-text search has something real to find: most words are
drawn from a small common vocabulary (they match thousands of rows, as "the storm" would), the
rest from a long tail of names and rare words (a handful of rows each). random() is seeded,
so every run builds the same data.

Engagement over the last 7 days, skewed as real traffic is (random()^2 picks low indexes more
often): views and likes on scenes, likes on ideas, one to three segments on half the scenes,
and a burst of recent views on 300 "hot" scenes. Counters on scenes and ideas are then set
from those rows, as the API would have kept them.
"""

from __future__ import annotations


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


COMMON = _words(
    "storm sea ship harbor lighthouse keeper night fog bell tide river city tower garden "
    "forest mountain road train station letter map key door window shadow light fire ash "
    "winter summer autumn spring rain snow wind moon sun star island bridge market clock "
    "mirror dream memory secret promise debt crown sword shield ghost witch dragon wolf "
    "raven fox horse child mother father brother sister stranger captain soldier thief "
    "merchant queen king prince priest doctor teacher painter singer sailor farmer miner "
    "old young lost hidden broken silent golden silver dark bright cold warm last first "
    "finds loses follows remembers forgets steals returns hides opens burns waits leaves "
    "meets fights saves betrays escapes discovers builds writes sings drowns wakes falls "
    "village castle library museum theater cellar attic kitchen chapel prison orchard "
    "journey war peace song story book page ink paper rope anchor lantern"
)

RARE = _words(
    "aldermere brackenford caldrith dunmore eskerwald farrowdeep galloway hestermoor "
    "ivybridge jorvik kestrel lindqvist marrowgate nettlecombe oberon pellucid quillon "
    "ravensworth saltmarsh thistlewood umberlin vantablack wyvernholt yarrowby zephyrine "
    "amaranth basilisk chimera doppelganger ephemera fenwick gargoyle harbinger incunabula "
    "juniper kraken leviathan manticore nightjar obsidian palimpsest quicksilver reliquary "
    "sextant tintype umbra verdigris wendigo xylograph yggdrasil zoetrope astrolabe "
    "bathysphere cartographer daguerreotype escapement filigree gloaming hinterland "
    "isinglass jacquard kaleidoscope lodestone meridian nocturne orrery phosphor quartermaster "
    "rookery semaphore telegraph undertow vellum wainwright zeppelin absinthe bellwether "
    "cinnabar driftwood embers foxglove gossamer hawthorn inkwell jetsam kittiwake lamplighter "
    "mooncalf nightshade oubliette parchment quagmire rosewater spindrift tallow underhill "
    "vesper willowisp yesteryear zenith ambergris belfry clockwork dovetail everglade "
    "firefly greywater hollowell ironwood juggernaut kindling larkspur mistral netherby "
    "outrider pennywhistle quarry rimefrost starling tumbleweed upland vagabond whitethorn"
)

WORDS_FUNCTION = """
CREATE FUNCTION pg_temp.words(n int) RETURNS text LANGUAGE sql VOLATILE AS $$
    SELECT string_agg(
        CASE WHEN random() < 0.85
             THEN c.w[1 + floor(random() * array_length(c.w, 1))::int]
             ELSE r.w[1 + floor(random() * array_length(r.w, 1))::int] END, ' ')
    FROM (SELECT ARRAY[{common}]::text[] AS w) c,
         (SELECT ARRAY[{rare}]::text[] AS w) r,
         generate_series(1, n)
$$
"""


def _array(words: tuple[str, ...]) -> str:
    return ", ".join(f"'{w}'" for w in words)


# The search vocabulary (migration 0003's search_words, filled by triggers on ideas and scenes)
# holds every word of 3..32 letters written; here that is exactly the two word lists.
VOCABULARY = """
DO $$ BEGIN
    IF to_regclass('search_words') IS NOT NULL THEN
        EXECUTE $q$INSERT INTO search_words (word) SELECT unnest(ARRAY[{words}]::text[])
                   ON CONFLICT DO NOTHING$q$;
    END IF;
END $$
"""


def _generate(ideas: int, scenes: int, users: int) -> list[str]:
    """Every row in temporary tables first, so the real tables get final counters at once."""
    return [
        "SELECT setseed(0.42)",
        WORDS_FUNCTION.format(common=_array(COMMON), rare=_array(RARE)),
        f"INSERT INTO users (email, username, password_hash, display_name, bio) "
        f"SELECT 'writer' || g || '@example.com', 'writer' || g, 'x', "
        f"initcap(pg_temp.words(2)), pg_temp.words(8) FROM generate_series(1, {users}) g",
        "CREATE TEMP TABLE bench_users AS "
        "SELECT id, row_number() OVER (ORDER BY username) AS n FROM users",
        "INSERT INTO topics (name, slug) "
        "SELECT 'Topic ' || g, 'topic-' || g FROM generate_series(1, 20) g",
        "CREATE TEMP TABLE bench_topics AS "
        "SELECT id, row_number() OVER (ORDER BY slug) AS n FROM topics",
        # Ideas 20 seconds apart over the last few weeks; 2% hidden, 2% awaiting review.
        f"CREATE TEMP TABLE bench_ideas AS "
        f"SELECT g AS n, gen_random_uuid() AS id, u.id AS user_id, t.id AS topic_id, "
        f"initcap(pg_temp.words(3 + g % 4)) AS title, pg_temp.words(20 + g % 25) AS prompt, "
        f"ARRAY[(ARRAY[{_array(COMMON[:20])}])[1 + g % 20]]::varchar[] AS tags, "
        f"CASE WHEN g % 50 = 0 THEN 'hidden' ELSE 'active' END AS status, "
        f"CASE WHEN g % 50 = 1 THEN 'pending' ELSE 'approved' END AS review_status, "
        f"now() - interval '30 days' + g * interval '20 seconds' AS created_at "
        f"FROM generate_series(1, {ideas}) g "
        f"JOIN bench_users u ON u.n = 1 + g % {users} "
        f"JOIN bench_topics t ON t.n = 1 + g % 20",
        # Scenes on every fifth idea, an hour after it; 1% hidden.
        f"CREATE TEMP TABLE bench_scenes AS "
        f"SELECT g AS n, gen_random_uuid() AS id, i.id AS idea_id, i.user_id, "
        f"initcap(pg_temp.words(3)) AS title, pg_temp.words(15 + g % 20) AS description, "
        f"CASE WHEN g % 100 = 0 THEN 'hidden' ELSE 'active' END AS status, "
        f"i.created_at + interval '1 hour' AS created_at "
        f"FROM generate_series(1, {scenes}) g "
        f"JOIN bench_ideas i ON i.n = 1 + ((g - 1) * 5) % {ideas}",
        # Views: a week of them, popular scenes more often; then a burst on 300 hot scenes.
        f"CREATE TEMP TABLE bench_views AS "
        f"SELECT s.id AS scene_id, md5(g::text) AS viewer_key, v.at "
        f"FROM generate_series(1, {scenes * 20}) g "
        f"CROSS JOIN LATERAL (SELECT now() - random() * interval '7 days' + g * interval '0' "
        f"AS at, 1 + floor({scenes} * random() ^ 2)::int AS n) v "
        f"JOIN bench_scenes s ON s.n = v.n "
        f"UNION ALL "
        f"SELECT s.id, md5('hot' || g), v.at FROM generate_series(1, 60000) g "
        f"CROSS JOIN LATERAL (SELECT now() - random() * interval '6 hours' + g * interval '0' "
        f"AS at, 1 + ((g * 7919) % 300) * ({scenes} / 300) AS n) v "
        f"JOIN bench_scenes s ON s.n = v.n",
        # Likes: one per (user, target); duplicates drawn at random are dropped.
        f"CREATE TEMP TABLE bench_likes AS "
        f"SELECT DISTINCT ON (user_id, target_type, target_id) * FROM ("
        f"SELECT u.id AS user_id, 'scene' AS target_type, s.id AS target_id, "
        f"now() - random() * interval '7 days' AS at "
        f"FROM generate_series(1, {scenes * 6}) g "
        f"CROSS JOIN LATERAL (SELECT 1 + floor({scenes} * random() ^ 2 + g * 0)::int AS n) v "
        f"JOIN bench_users u ON u.n = 1 + g % {users} "
        f"JOIN bench_scenes s ON s.n = v.n "
        f"UNION ALL "
        f"SELECT u.id, 'idea', i.id, now() - random() * interval '7 days' "
        f"FROM generate_series(1, {ideas}) g "
        f"CROSS JOIN LATERAL (SELECT 1 + floor({ideas} * random() ^ 2 + g * 0)::int AS n) v "
        f"JOIN bench_users u ON u.n = 1 + g % {users} "
        f"JOIN bench_ideas i ON i.n = v.n) l",
        # One to three segments on every other scene, within the week.
        "CREATE TEMP TABLE bench_segments AS "
        "SELECT s.id AS scene_id, s.user_id, k AS sequence, pg_temp.words(12) AS text, "
        "now() - interval '7 days' + (k * 2 + s.n % 100) * interval '1 hour' AS created_at "
        "FROM bench_scenes s, generate_series(1, 3) k "
        "WHERE s.n % 2 = 0 AND k <= 1 + s.n % 3",
    ]


_LIKES_OF = "(SELECT target_id, count(*) AS n FROM bench_likes WHERE target_type = '{}' GROUP BY 1)"

_LOAD = [
    # Triggers off for the two big inserts: the counters and activity below are final, and
    # the search vocabulary they would collect is the word lists (VOCABULARY).
    "ALTER TABLE ideas DISABLE TRIGGER USER",
    "ALTER TABLE scenes DISABLE TRIGGER USER",
    "INSERT INTO ideas (id, user_id, topic_id, title, prompt, tags, status, review_status, "
    "created_at, like_count, scene_count, last_activity_at) "
    "SELECT i.id, i.user_id, i.topic_id, i.title, i.prompt, i.tags, i.status, i.review_status, "
    "i.created_at, coalesce(l.n, 0), coalesce(s.n, 0), greatest(i.created_at, s.latest) "
    "FROM bench_ideas i "
    f"LEFT JOIN {_LIKES_OF.format('idea')} l ON l.target_id = i.id "
    "LEFT JOIN (SELECT sc.idea_id, count(*) AS n, "
    "max(coalesce(g.last, sc.created_at)) AS latest FROM bench_scenes sc "
    "LEFT JOIN (SELECT scene_id, max(created_at) AS last FROM bench_segments GROUP BY 1) g "
    "ON g.scene_id = sc.id GROUP BY 1) s ON s.idea_id = i.id "
    "ORDER BY i.n",
    # topic_id by hand: the scenes_fill_topic trigger is off with the others for this insert.
    "INSERT INTO scenes (id, idea_id, topic_id, user_id, title, description, status, created_at, "
    "like_count, view_count, segment_count, last_segment_at, total_duration, contributor_count) "
    "SELECT s.id, s.idea_id, (SELECT topic_id FROM ideas WHERE ideas.id = s.idea_id), "
    "s.user_id, s.title, s.description, s.status, s.created_at, "
    "coalesce(l.n, 0), coalesce(v.n, 0), coalesce(g.n, 0), g.last, 8 * coalesce(g.n, 0), "
    "CASE WHEN g.n > 0 THEN 1 ELSE 0 END "
    "FROM bench_scenes s "
    f"LEFT JOIN {_LIKES_OF.format('scene')} l ON l.target_id = s.id "
    "LEFT JOIN (SELECT scene_id, count(*) AS n FROM bench_views GROUP BY 1) v "
    "ON v.scene_id = s.id "
    "LEFT JOIN (SELECT scene_id, count(*) AS n, max(created_at) AS last FROM bench_segments "
    "GROUP BY 1) g ON g.scene_id = s.id "
    "ORDER BY s.n",
    "ALTER TABLE ideas ENABLE TRIGGER USER",
    "ALTER TABLE scenes ENABLE TRIGGER USER",
    VOCABULARY.format(words=_array(COMMON + RARE)),
    "INSERT INTO scene_views (scene_id, viewer_key, window_start, created_at) "
    "SELECT scene_id, viewer_key, at, at FROM bench_views ORDER BY scene_id, at",
    "INSERT INTO likes (user_id, target_type, target_id, created_at) "
    "SELECT user_id, target_type, target_id, at FROM bench_likes ORDER BY at",
    "INSERT INTO segments (scene_id, user_id, sequence, text, duration, created_at) "
    "SELECT scene_id, user_id, sequence, text, 8, created_at FROM bench_segments "
    "ORDER BY created_at",
    "VACUUM ANALYZE",
]


def statements(ideas: int, scenes: int, users: int) -> list[str]:
    """The seed, statement by statement, for one asyncpg connection (pg_temp functions)."""
    return [*_generate(ideas, scenes, users), *_LOAD]
