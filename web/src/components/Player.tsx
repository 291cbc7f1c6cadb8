/** One video for the whole scene: native HLS where the browser has it, hls.js (lazy) elsewhere. */

import { useEffect, useRef, useState } from "preact/hooks";
import { formatDuration } from "./format";

export interface Chapter {
  start: number;
  title: string;
}

interface Props {
  src: string;
  /** Changes when the playlist grew: the player reloads it and keeps its place. */
  version: number;
  chapters: Chapter[];
  poster?: string | null;
  /** Where to start after a reload (e.g. the start of a new segment). */
  startAt?: number | null;
  onFirstPlay?: () => void;
}

interface HlsLike {
  destroy(): void;
  subtitleTracks: { name?: string; lang?: string }[];
  subtitleTrack: number;
  subtitleDisplay: boolean;
}

const NATIVE_HLS = "application/vnd.apple.mpegurl";

/** The user's captions choice (and language, by its tag) lives across pages and reloads. */
const CAPTIONS_KEY = "storyloom.captions";
const LANGUAGE_KEY = "storyloom.captions.language";

/** A subtitles rendition as the picker lists it. */
interface CaptionsTrack {
  label: string;
  lang: string;
}

function captionTracks(video: HTMLVideoElement): TextTrack[] {
  return Array.from(video.textTracks).filter((t) => t.kind === "subtitles" || t.kind === "captions");
}

export function Player({ src, version, chapters, poster, startAt, onFirstPlay }: Props) {
  const video = useRef<HTMLVideoElement>(null);
  const hls = useRef<HlsLike | null>(null);
  /** Once hls.js took over (captions), a reload goes straight to it: no second load. */
  const engine = useRef<"native" | "hls.js" | null>(null);
  const played = useRef(false);
  const [error, setError] = useState<string | null>(null);
  const [now, setNow] = useState(0);
  const [duration, setDuration] = useState(0);
  const [hasCaptions, setHasCaptions] = useState(false);
  const [captionsOn, setCaptionsOn] = useState(() => localStorage.getItem(CAPTIONS_KEY) === "on");
  const [tracks, setTracks] = useState<CaptionsTrack[]>([]);
  const [language, setLanguage] = useState(() => localStorage.getItem(LANGUAGE_KEY) ?? "");

  useEffect(() => {
    const el = video.current;
    if (!el) return;
    let cancelled = false;
    const url = `${src}${src.includes("?") ? "&" : "?"}v=${version}`;
    const resumeAt = startAt ?? (el.currentTime > 0 ? el.currentTime : null);
    setError(null);
    // data-engine names the engine once the element settled on it (tests and tools wait on it).
    delete el.dataset.engine;
    const settled = (name: "native" | "hls.js") => {
      engine.current = name;
      el.dataset.engine = name;
    };
    const seek = () => {
      if (resumeAt !== null && resumeAt > 0) el.currentTime = resumeAt;
    };
    el.addEventListener("loadedmetadata", seek, { once: true });
    const useHlsJs = () =>
      void import("hls.js").then(({ default: Hls }) => {
        if (cancelled) return;
        if (!Hls.isSupported()) {
          setError("This browser cannot play HLS video.");
          return;
        }
        const player = new Hls({ renderTextTracksNatively: true });
        hls.current = player;
        player.on(Hls.Events.SUBTITLE_TRACKS_UPDATED, () => {
          setHasCaptions(player.subtitleTracks.length > 0);
          setTracks(player.subtitleTracks.map((t, i) => ({ label: t.name || `Track ${i + 1}`, lang: t.lang ?? "" })));
        });
        player.on(Hls.Events.ERROR, (_event, data) => {
          if (data.fatal) setError(`The video stopped: ${data.details}.`);
        });
        el.addEventListener("loadedmetadata", () => cancelled || settled("hls.js"), { once: true });
        player.loadSource(url);
        player.attachMedia(el);
      });
    // Some native players (Chromium's) play HLS but not its subtitles rendition: when the
    // playlist has one and no text track showed up, hls.js takes over so captions work.
    const checkNativeSubtitles = async () => {
      if (cancelled) return;
      if (captionTracks(el).length) return settled("native");
      const playlist = await fetch(url).then((r) => (r.ok ? r.text() : ""), () => "");
      if (cancelled) return;
      if (captionTracks(el).length || !/TYPE=SUBTITLES/.test(playlist)) return settled("native");
      const at = el.currentTime;
      el.removeAttribute("src");
      el.load();
      el.addEventListener("loadedmetadata", () => (el.currentTime = at || resumeAt || 0), { once: true });
      useHlsJs();
    };
    if (engine.current !== "hls.js" && el.canPlayType(NATIVE_HLS)) {
      el.src = url;
      el.addEventListener("loadedmetadata", checkNativeSubtitles, { once: true });
    } else {
      useHlsJs();
    }
    return () => {
      cancelled = true;
      el.removeEventListener("loadedmetadata", seek);
      el.removeEventListener("loadedmetadata", checkNativeSubtitles);
      hls.current?.destroy();
      hls.current = null;
    };
  }, [src, version]);

  // Native text tracks (native HLS renditions, or the ones hls.js renders natively).
  useEffect(() => {
    const el = video.current;
    if (!el) return;
    const sync = () => {
      const native = captionTracks(el);
      setHasCaptions((had) => had || native.length > 0);
      if (!hls.current) setTracks(native.map((t, i) => ({ label: t.label || t.language || `Track ${i + 1}`, lang: t.language })));
      // The chosen language's track, else the first; hls.js makes its native tracks in its own order.
      const chosen = hls.current ? hls.current.subtitleTracks.map((t) => t.lang ?? "") : native.map((t) => t.language);
      const index = Math.max(0, chosen.indexOf(language));
      native.forEach((t, i) => (t.mode = captionsOn && i === index ? "showing" : "disabled"));
      if (hls.current && hls.current.subtitleTracks.length) {
        hls.current.subtitleDisplay = captionsOn;
        hls.current.subtitleTrack = captionsOn ? index : -1;
      }
    };
    sync();
    el.textTracks.addEventListener("addtrack", sync);
    return () => el.textTracks.removeEventListener("addtrack", sync);
  }, [captionsOn, language, hasCaptions, tracks.length, src, version]);

  function toggleCaptions() {
    const next = !captionsOn;
    setCaptionsOn(next);
    localStorage.setItem(CAPTIONS_KEY, next ? "on" : "off");
  }

  function chooseLanguage(lang: string) {
    setLanguage(lang);
    localStorage.setItem(LANGUAGE_KEY, lang);
  }

  function jump(start: number) {
    const el = video.current;
    if (!el) return;
    el.currentTime = start + 0.01;
    void el.play().catch(() => undefined);
  }

  const current = chapters.reduce((found, c, i) => (now >= c.start ? i : found), 0);
  const total = chapters.length > 1 && Number.isFinite(duration) ? duration : 0;

  return (
    <div class="player">
      <video
        ref={video}
        controls
        playsInline
        preload="metadata"
        poster={poster ?? undefined}
        aria-label="Scene video"
        onTimeUpdate={(e) => setNow(e.currentTarget.currentTime)}
        onDurationChange={(e) => setDuration(e.currentTarget.duration)}
        onPlaying={() => {
          if (!played.current) {
            played.current = true;
            onFirstPlay?.();
          }
        }}
        onError={(e) => {
          const code = e.currentTarget.error?.code;
          if (code) setError(`This video could not be played (media error ${code}).`);
        }}
      />
      {total > 0 ? (
        <div class="chapter-bar" aria-hidden="true">
          {chapters.map((c, i) => (
            <span key={i} class="chapter-tick" style={{ left: `${(c.start / total) * 100}%` }} />
          ))}
          <span class="chapter-now" style={{ width: `${Math.min(100, (now / total) * 100)}%` }} />
        </div>
      ) : null}
      {error ? (
        <p class="problem" role="alert">
          {error}
        </p>
      ) : null}
      <div class="player-tools">
        {hasCaptions ? (
          <button type="button" class="secondary" aria-pressed={captionsOn} onClick={toggleCaptions}>
            Captions {captionsOn ? "on" : "off"}
          </button>
        ) : null}
        {hasCaptions && tracks.length > 1 ? (
          <select
            aria-label="Captions language"
            value={tracks.some((t) => t.lang === language) ? language : tracks[0].lang}
            onChange={(e) => chooseLanguage(e.currentTarget.value)}
          >
            {tracks.map((t, i) => (
              <option key={i} value={t.lang}>
                {t.label}
              </option>
            ))}
          </select>
        ) : null}
      </div>
      {chapters.length > 1 ? (
        <nav aria-label="Chapters">
          <ol class="chapters">
            {chapters.map((c, i) => (
              <li key={i}>
                <button
                  type="button"
                  class="chapter"
                  aria-current={i === current ? "true" : undefined}
                  onClick={() => jump(c.start)}
                >
                  <span class="time">{formatDuration(c.start)}</span> {c.title}
                </button>
              </li>
            ))}
          </ol>
        </nav>
      ) : null}
    </div>
  );
}
