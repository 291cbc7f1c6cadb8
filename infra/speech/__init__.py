"""Speech for the pipeline: who speaks with which voice, the engines, and the spoken timeline."""
