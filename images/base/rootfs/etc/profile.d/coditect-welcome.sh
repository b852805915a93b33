# Login shells greet the developer with the framework version and the license session.
[ -t 1 ] && command -v coditect-entrypoint >/dev/null && coditect-entrypoint welcome
