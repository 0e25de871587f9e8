"""The audit rules: a pure engine (one function per finding code), the interchange-form parser,
and the versioned rule sets it runs on. Below `prescriptions`: the submit calls it directly."""
