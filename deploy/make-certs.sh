#!/usr/bin/env bash
# Makes a lab PKI for mTLS between vmsnap (workers, CLI, UI server) and the Temporal frontend:
# one CA, a server certificate for 127.0.0.1/localhost, and client certificates for a worker, an
# operator and an intruder signed by ANOTHER CA (which the frontend must refuse). Idempotent:
# certificates that exist and have a month left are kept. Prints the folder.
# Usage: make-certs.sh [DIR]   (default $VMSNAP_LAB/pki)
source "$(dirname "$0")/common.sh"
dir="${1:-$VMSNAP_LAB/pki}"
mkdir -p "$dir"
chmod 700 "$dir"
cd "$dir"

ca() { # <name> <subject>
  if ! openssl x509 -checkend 2592000 -noout -in "$1.pem" >/dev/null 2>&1; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 825 \
      -subj "$2" -keyout "$1.key" -out "$1.pem" >/dev/null 2>&1
  fi
}
leaf() { # <name> <CN> <ca> <extendedKeyUsage> [subjectAltName]
  local name="$1" cn="$2" signer="$3" usage="$4" san="${5:-}"
  if openssl x509 -checkend 2592000 -noout -in "$name.pem" >/dev/null 2>&1 &&
     openssl verify -CAfile "$signer.pem" "$name.pem" >/dev/null 2>&1; then return 0; fi
  local ext; ext="$(mktemp)"
  { echo "basicConstraints=CA:FALSE"; echo "keyUsage=digitalSignature,keyEncipherment"; echo "extendedKeyUsage=$usage"
    [ -n "$san" ] && echo "subjectAltName=$san"; } >"$ext"
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/O=vmsnap lab/CN=$cn" \
    -keyout "$name.key" -out "$name.csr" >/dev/null 2>&1
  openssl x509 -req -in "$name.csr" -CA "$signer.pem" -CAkey "$signer.key" -CAcreateserial -days 397 \
    -extfile "$ext" -out "$name.pem" >/dev/null 2>&1
  rm -f "$name.csr" "$ext"
}

ca ca "/O=vmsnap lab/CN=vmsnap lab CA"
ca rogue-ca "/O=elsewhere/CN=some other CA"
leaf server temporal-frontend ca serverAuth,clientAuth "DNS:localhost,DNS:temporal-frontend,IP:127.0.0.1"
leaf worker vmsnap-worker ca clientAuth
leaf operator vmsnap-operator ca clientAuth
leaf intruder vmsnap-intruder rogue-ca clientAuth
chmod 600 ./*.key
echo "$dir"
