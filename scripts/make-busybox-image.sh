#!/usr/bin/env bash
# Builds busybox:latest as a docker-archive tarball (what `docker save` writes
# and `docker load` / `wharf load` read) from Debian's busybox-static, with no
# network. The output is reproducible: same busybox binary → same bytes, so
# the same image ID.
#
# usage: scripts/make-busybox-image.sh OUT.tar
set -euo pipefail
export LC_ALL=C

out=${1:?usage: $0 OUT.tar}
busybox=$(command -v busybox || true)
[ -n "$busybox" ] && "$busybox" --list-full >/dev/null 2>&1 || { echo "make-busybox-image: needs busybox-static (apt-get install busybox-static)" >&2; exit 1; }
# A dynamically linked busybox would not run inside the image.
if command -v file >/dev/null 2>&1 && ! file -L "$busybox" | grep -q 'statically linked'; then
  echo "make-busybox-image: $busybox is not statically linked (install busybox-static)" >&2; exit 1
fi

work=$(mktemp -d /tmp/wharf-busybox-image.XXXXXX)
trap 'rm -rf "$work"' EXIT
root=$work/rootfs
img=$work/image
mkdir -p "$root" "$img"

# --- the root filesystem -----------------------------------------------------
for d in bin sbin usr/bin usr/sbin usr/local/bin etc root home tmp proc sys dev var/spool/mail var/www var/log var/tmp run mnt opt srv; do
  mkdir -p "$root/$d"
done
install -m 0755 "$busybox" "$root/bin/busybox"
# Every applet at its usual path, hardlinked to the one binary (as the
# official busybox image does).
"$busybox" --list-full | while read -r applet; do
  [ -n "$applet" ] || continue
  [ "$applet" = bin/busybox ] && continue
  mkdir -p "$root/$(dirname "$applet")"
  [ -e "$root/$applet" ] || ln "$root/bin/busybox" "$root/$applet"
done

cat > "$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
sync:x:4:100:sync:/bin:/bin/sync
mail:x:8:8:mail:/var/spool/mail:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
operator:x:37:37:Operator:/var:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
PASSWD
cat > "$root/etc/group" <<'GROUP'
root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
disk:x:6:
lp:x:7:
mail:x:8:
kmem:x:9:
wheel:x:10:root
cdrom:x:11:
dialout:x:18:
floppy:x:19:
video:x:28:
audio:x:29:
tape:x:32:
www-data:x:33:
operator:x:37:
utmp:x:43:
plugdev:x:46:
staff:x:50:
lock:x:54:
netdev:x:82:
users:x:100:
nogroup:x:65534:
GROUP
cat > "$root/etc/shadow" <<'SHADOW'
root:*:10933:0:99999:7:::
daemon:*:10933:0:99999:7:::
bin:*:10933:0:99999:7:::
sys:*:10933:0:99999:7:::
sync:*:10933:0:99999:7:::
mail:*:10933:0:99999:7:::
www-data:*:10933:0:99999:7:::
operator:*:10933:0:99999:7:::
nobody:*:10933:0:99999:7:::
SHADOW
# Mount points the runtime bind-mounts over.
: > "$root/etc/hostname"
: > "$root/etc/hosts"
: > "$root/etc/resolv.conf"
ln -s /proc/mounts "$root/etc/mtab"

chmod 0755 "$root" "$root"/bin "$root"/sbin "$root"/usr "$root"/usr/bin "$root"/usr/sbin "$root"/etc "$root"/home "$root"/var
chmod 0700 "$root/root"
chmod 1777 "$root/tmp" "$root/var/tmp"
chmod 0644 "$root"/etc/passwd "$root"/etc/group "$root"/etc/hostname "$root"/etc/hosts "$root"/etc/resolv.conf
chmod 0640 "$root/etc/shadow"

tar_opts=(--sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=gnu)
# Top-level entries by name (no "./" prefix), like Docker's own layer tars.
(cd "$root" && find . -mindepth 1 | sed 's|^\./||' | sort | tar "${tar_opts[@]}" -cf "$work/layer.tar" --no-recursion -T -)

sha() { sha256sum "$1" | cut -d' ' -f1; }
diff_id=$(sha "$work/layer.tar")
mkdir -p "$img/$diff_id"
mv "$work/layer.tar" "$img/$diff_id/layer.tar"
printf '1.0' > "$img/$diff_id/VERSION"

created=1970-01-01T00:00:00Z
# OCI (GOARCH) spelling of this machine's architecture; amd64 on the usual hosts.
case "$(uname -m)" in
  x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; i?86) arch=386 ;; armv*) arch=arm ;; *) arch=$(uname -m) ;;
esac
printf '{"architecture":"%s","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["sh"]},"created":"%s","history":[{"created":"%s","created_by":"/bin/sh -c #(nop) ADD file:busybox-static in / "},{"created":"%s","created_by":"/bin/sh -c #(nop)  CMD [\\"sh\\"]","empty_layer":true}],"os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
  "$arch" "$created" "$created" "$created" "$diff_id" > "$work/config.json"
config_id=$(sha "$work/config.json")
mv "$work/config.json" "$img/$config_id.json"

printf '[{"Config":"%s.json","RepoTags":["busybox:latest"],"Layers":["%s/layer.tar"]}]' "$config_id" "$diff_id" > "$img/manifest.json"
printf '{"busybox":{"latest":"%s"}}' "$diff_id" > "$img/repositories"

mkdir -p "$(dirname "$out")"
(cd "$img" && find . -mindepth 1 | sed 's|^\./||' | sort | tar "${tar_opts[@]}" -cf "$work/out.tar" --no-recursion -T -)
mv "$work/out.tar" "$out.tmp.$$"
mv "$out.tmp.$$" "$out"
echo "busybox:latest sha256:$config_id -> $out" >&2
