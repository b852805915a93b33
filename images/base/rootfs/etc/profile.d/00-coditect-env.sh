# The license key is for the entrypoint alone: login shells of the container never carry it.
unset CODITECT_LICENSE_KEY
