# Debian's defaults for interactive shells, then CODITECT's rule: the license key is for the entrypoint
# alone, so an interactive shell (docker exec -it ... bash) never carries it.
[ -f /etc/skel/.bashrc ] && . /etc/skel/.bashrc
unset CODITECT_LICENSE_KEY
