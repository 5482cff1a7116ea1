#!/bin/sh
# vmkfstools-wrapper: runs `vmkfstools -i <vmdk> -d rdm:<device> <descriptor>` on an ESXi host as a
# detached task and reports on it, for the vSphere copy-offload (XCOPY) populator.
#
# It keeps the contract of Forklift's wrapper, so either side can be swapped:
#   --clone -s <source vmdk> -t <target device>   start a clone task   -> {"taskId","pid","xcopyUsed"}
#   --task-get -i <task id>                       report on a task     -> {"taskId","pid","exitCode",
#                                                 "lastLine","xcopyUsed","stdErr", ...}
#   --task-clean -i <task id>                     stop a task if it still runs, delete its files
#   --version [--output simple]                   {"version": "..."} or the bare version
# Every answer is the esxcli plugin's `result` structure (status, message) as XML on stdout; the
# message is JSON. Both transports use it: the esxcli plugin (esxcli-vmkfstools.xml) passes
# arguments on the command line; the restricted SSH key passes them in SSH_ORIGINAL_COMMAND as
# `DS=<datastore>;CMD=<arguments>` (or just `<arguments>`), where they are split like a shell would
# split them (single quotes, double quotes, backslashes) but never expanded or evaluated.
#
# Arguments to -s/-t may be given as `hex:<hex bytes>` so that any path survives the esxcli
# plugin's '$val{...}' substitution, which cannot carry a single quote.
#
# Task files: <task root>/vmkfstools-wrapper-<id>/{pid,out,err,exitcode,rdmfile,targetLun,...}.
# Runs under BusyBox ash; uses only BusyBox applets plus vmkfstools, vsish and logger.

SCRIPT_VERSION="1.0.0"
LOG_TAG="vmkfstools-wrapper"
STALE_DAYS=5

# Tests run the wrapper on a machine without /tmp tasks or /vmfs: every file the wrapper touches is
# looked up under this prefix (empty on ESXi). It must be an absolute path.
FS_ROOT="${HOIST_WRAPPER_ROOT_FOR_TEST:-}"
case "$FS_ROOT" in
  '' | /*) ;;
  *) FS_ROOT= ;;
esac
TASK_PREFIX="$FS_ROOT/tmp/vmkfstools-wrapper-"

umask 027

# On ESXi the tools live in /bin; elsewhere (tests) they are looked up on PATH.
if [ -x /bin/vmkfstools ]; then
  VMKFSTOOLS=/bin/vmkfstools
  VSISH=/bin/vsish
  TASK_SHELL=/bin/sh
else
  VMKFSTOOLS=vmkfstools
  VSISH=vsish
  TASK_SHELL=sh
fi

OUTPUT=xml

log() { # <level> <message>
  logger -t "$LOG_TAG" -p "user.$1" "$2" >/dev/null 2>&1 || :
}

# --- output -----------------------------------------------------------------------------------------

# Text for an XML element: drop control characters XML 1.0 cannot carry, escape markup.
xml_text() {
  printf '%s\n' "$1" | tr -d '\000-\010\013\014\016-\037' |
    sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g'
}

# A JSON string literal (with quotes). \b, \f and other control characters are dropped.
json_str() {
  _js=$(printf '%s\n' "$1" | tr -d '\000-\010\013\014\016-\037\177' |
    sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/	/\\t/g' -e 's/\r/\\r/g' -e 's/$/\\n/' | tr -d '\n')
  printf '"%s"' "${_js%\\n}"
}

# The esxcli plugin's result structure. Always exit 0 once it is printed: the caller reads the
# status field (a non-zero exit may make esxcli replace the message with a generic fault).
emit() { # <status> <message>
  printf '<?xml version="1.0" ?>\n'
  printf '<output xmlns="http://www.vmware.com/Products/ESX/5.0/esxcli/">\n'
  printf '    <structure typeName="result">\n'
  printf '        <field name="status"><string>%s</string></field>\n' "$(xml_text "$1")"
  printf '        <field name="message"><string>%s</string></field>\n' "$(xml_text "$2")"
  printf '    </structure>\n'
  printf '</output>\n'
}

# Failure with a JSON message that Forklift's populator can read (taskId, stdErr, xcopyUsed) and a
# machine-readable code for hoist's.
fail() { # <code> <text> [task id]
  log err "$2"
  if [ -n "${3:-}" ]; then
    emit 1 "{\"taskId\": $(json_str "$3"), \"stdErr\": $(json_str "$2"), \"xcopyUsed\": false, \"code\": $(json_str "$1")}"
  else
    emit 1 "{\"stdErr\": $(json_str "$2"), \"xcopyUsed\": false, \"code\": $(json_str "$1")}"
  fi
  exit 0
}

# --- arguments --------------------------------------------------------------------------------------

# Next word of $_in into TOK (TOK_QUOTED=1 if any part was quoted, TOK_SEP = the blanks before it).
# Returns 1 at the end, 2 on an unbalanced quote.
next_word() {
  TOK=
  TOK_QUOTED=0
  TOK_SEP=
  while :; do
    case "$_in" in
      ' '* | '	'*)
        TOK_SEP="$TOK_SEP${_in%"${_in#?}"}"
        _in=${_in#?}
        ;;
      *) break ;;
    esac
  done
  [ -n "$_in" ] || return 1
  while [ -n "$_in" ]; do
    case "$_in" in
      ' '* | '	'*) break ;;
      \'*)
        _in=${_in#?}
        case "$_in" in *\'*) ;; *) return 2 ;; esac
        TOK="$TOK${_in%%\'*}"
        _in=${_in#*\'}
        TOK_QUOTED=1
        ;;
      \"*)
        _in=${_in#?}
        TOK_QUOTED=1
        while :; do
          case "$_in" in
            '') return 2 ;;
            \"*)
              _in=${_in#?}
              break
              ;;
            \\*)
              _in=${_in#?}
              case "$_in" in
                '"'* | \\* | '$'* | '`'*) ;;
                *) TOK="$TOK\\" ;;
              esac
              [ -n "$_in" ] || return 2
              TOK="$TOK${_in%"${_in#?}"}"
              _in=${_in#?}
              ;;
            *)
              TOK="$TOK${_in%"${_in#?}"}"
              _in=${_in#?}
              ;;
          esac
        done
        ;;
      \\*)
        _in=${_in#?}
        [ -n "$_in" ] || return 2
        TOK="$TOK${_in%"${_in#?}"}"
        _in=${_in#?}
        TOK_QUOTED=1
        ;;
      *)
        TOK="$TOK${_in%"${_in#?}"}"
        _in=${_in#?}
        ;;
    esac
  done
  return 0
}

# `hex:2f766d6673...` -> the bytes; anything else unchanged.
decode_arg() {
  case "$1" in
    hex:*) ;;
    *)
      printf '%s' "$1"
      return 0
      ;;
  esac
  _h=${1#hex:}
  case "$_h" in '' | *[!0-9a-fA-F]*) return 1 ;; esac
  [ $((${#_h} % 2)) -eq 0 ] || return 1
  _fmt=
  while [ -n "$_h" ]; do
    _pair=${_h%"${_h#??}"}
    _h=${_h#??}
    case "$_pair" in 00) return 1 ;; esac
    _fmt="$_fmt\\$(printf '%03o' "0x$_pair")"
  done
  # shellcheck disable=SC2059 # the format holds only octal escapes
  printf "$_fmt"
}

# --- paths ------------------------------------------------------------------------------------------

# Collapse `//` and `/./`, drop a trailing `/`.
normalize_path() {
  printf '%s\n' "$1" | sed -e 's|//*|/|g' -e ':a' -e 's|/\./|/|g' -e 'ta' -e 's|/\.$||' -e 's|\(.\)/$|\1|'
}

# Sets CHECKED to the normalized path or fails with a path-validation message.
check_path() { # <source|target> <path>
  case "$2" in
    *[[:cntrl:]]*) fail InvalidPath "Path validation error: the $1 path contains control characters" ;;
    '') fail InvalidPath "Path validation error: the $1 path is empty" ;;
  esac
  CHECKED=$(normalize_path "$2")
  case "$CHECKED/" in
    */../*) fail InvalidPath "Path validation error: '..' is not allowed in the $1 path: $2" ;;
  esac
  case "$1" in
    source)
      case "$CHECKED" in
        /vmfs/volumes/?*/?*) ;;
        *) fail InvalidPath "Path validation error: the source must be a VMDK under /vmfs/volumes/<datastore>/: $2" ;;
      esac
      case "$CHECKED" in
        *.vmdk) ;;
        *) fail InvalidPath "Path validation error: the source must be a .vmdk descriptor: $2" ;;
      esac
      ;;
    target)
      case "$CHECKED" in
        /vmfs/devices/disks/?*) ;;
        *) fail InvalidPath "Path validation error: the target must be a device under /vmfs/devices/disks/: $2" ;;
      esac
      case "${CHECKED#/vmfs/devices/disks/}" in
        *[!A-Za-z0-9._:-]*) fail InvalidPath "Path validation error: the target must name a device such as naa.<id>: $2" ;;
      esac
      ;;
  esac
}

check_task_id() { # <id>
  case "$1" in
    '') fail MissingTaskId "-i (task-id) is required for $ACTION" ;;
    *[!0-9a-f-]*) fail InvalidTaskId "invalid task id: $1" ;;
  esac
  [ ${#1} -eq 36 ] || fail InvalidTaskId "invalid task id: $1"
}

# --- tasks ------------------------------------------------------------------------------------------

new_task_id() {
  od -A n -t x1 -N 16 /dev/urandom | tr -d ' \n' |
    sed 's/^\(.\{8\}\)\(.\{4\}\)\(.\{4\}\)\(.\{4\}\)\(.\{12\}\)$/\1-\2-\3-\4-\5/'
}

# A process counts as alive if it exists and is not a zombie (where /proc tells).
is_alive() { # <pid>
  case "$1" in '' | *[!0-9]*) return 1 ;; esac
  kill -0 "$1" 2>/dev/null || return 1
  if [ -r "/proc/$1/stat" ]; then
    case "$(sed -e 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d ' ' -f 1)" in
      Z | X) return 1 ;;
    esac
  fi
  return 0
}

# Writes a one-line file atomically.
put() { # <file> <value>
  printf '%s\n' "$2" >"$1.tmp" && mv -f "$1.tmp" "$1"
}

# The device's XCOPY counter (decimal) from `vsish`, e.g. `cloneWriteOps:0x0000000000009871`.
clone_write_ops() { # <device name>
  _stats=$("$VSISH" -r -e cat "/storage/scsifw/devices/$1/stats" 2>/dev/null) || return 1
  _v=$(printf '%s\n' "$_stats" | grep -i 'clonewriteops' | head -n 1 | cut -d ':' -f 2 | tr -d ' \t\r')
  case "$_v" in
    0[xX]*)
      case "${_v#0[xX]}" in '' | *[!0-9a-fA-F]*) return 1 ;; esac
      ;;
    '' | *[!0-9]*) return 1 ;;
  esac
  printf '%d' "$_v"
}

# Deletes the RDM descriptor written by vmkfstools and the mapping file it names
# (`RW <sectors> VMFSRDM "<name>-rdm.vmdk"`).
remove_rdm_files() { # <descriptor path on ESXi>
  [ -n "$1" ] || return 0
  _desc="$FS_ROOT$1"
  _dir=${_desc%/*}
  _maps=
  if [ -f "$_desc" ]; then
    _maps=$(sed -n 's/.*VMFSRDM[ 	]*"\([^"]*\)".*/\1/p' "$_desc" 2>/dev/null)
  fi
  # If vmkfstools died before writing the descriptor, the mapping may still carry the usual name.
  _maps="$_maps
${1##*/}"
  printf '%s\n' "$_maps" | while IFS= read -r _m; do
    case "$_m" in
      '' | */* | . | ..) continue ;;
    esac
    case "$_m" in
      *-rdm.vmdk) _f="$_dir/$_m" ;;
      *.vmdk) _f="$_dir/${_m%.vmdk}-rdm.vmdk" ;;
      *) continue ;;
    esac
    if [ -f "$_f" ]; then
      rm -f "$_f" 2>/dev/null || log warning "cannot remove RDM mapping file $_f"
    fi
  done
  if [ -f "$_desc" ]; then
    rm -f "$_desc" 2>/dev/null || log warning "cannot remove RDM descriptor $_desc"
  fi
  return 0
}

# Stops a task's process group: TERM, up to 10 s grace, then KILL. Prints "true" if it had to stop it.
stop_task() { # <task dir>
  _pid=$(cat "$1/pid" 2>/dev/null)
  if [ -f "$1/exitcode" ] || ! is_alive "$_pid"; then
    printf 'false'
    return 0
  fi
  log warning "stopping clone task process group $_pid"
  kill -TERM "-$_pid" 2>/dev/null || kill -TERM "$_pid" 2>/dev/null
  _n=0
  while is_alive "$_pid" && [ $_n -lt 50 ]; do
    sleep 0.2 2>/dev/null || sleep 1
    _n=$((_n + 1))
  done
  if is_alive "$_pid"; then
    kill -KILL "-$_pid" 2>/dev/null || kill -KILL "$_pid" 2>/dev/null
  fi
  printf 'true'
}

# Removes everything a task left: its process (if still running), RDM files, the task directory.
clean_task_files() { # <task dir>
  _cancelled=$(stop_task "$1")
  remove_rdm_files "$(cat "$1/rdmfile" 2>/dev/null)"
  if ! rm -rf "$1" 2>/dev/null; then
    find "$1" -type f -exec rm -f {} \; 2>/dev/null
    rmdir "$1" 2>/dev/null || return 1
  fi
  printf '%s' "$_cancelled"
  return 0
}

# Task directories not touched for STALE_DAYS whose process is gone: clean them like --task-clean.
purge_stale_tasks() {
  find "$FS_ROOT/tmp" -maxdepth 1 -type d -name 'vmkfstools-wrapper-*' -mtime "+$STALE_DAYS" 2>/dev/null |
    while IFS= read -r _d; do
      _id=${_d##*/vmkfstools-wrapper-}
      case "$_id" in '' | *[!0-9a-f-]*) continue ;; esac
      [ "$_d" = "$TASK_PREFIX$_id" ] || continue
      if [ ! -f "$_d/exitcode" ] && is_alive "$(cat "$_d/pid" 2>/dev/null)"; then
        continue
      fi
      log info "removing stale task directory $_d"
      clean_task_files "$_d" >/dev/null || log warning "cannot remove stale task directory $_d"
    done
  return 0
}

# --- commands ---------------------------------------------------------------------------------------

do_clone() {
  [ -n "$SRC" ] || fail MissingArgument "-s (source-vmdk) is required for --clone"
  [ -n "$TGT" ] || fail MissingArgument "-t (target-lun) is required for --clone"
  _src=$(decode_arg "$SRC") || fail InvalidPath "Path validation error: malformed hex argument to -s"
  _tgt=$(decode_arg "$TGT") || fail InvalidPath "Path validation error: malformed hex argument to -t"
  check_path source "$_src"
  src=$CHECKED
  check_path target "$_tgt"
  tgt=$CHECKED
  dev=${tgt##*/}

  purge_stale_tasks

  id=$(new_task_id)
  [ ${#id} -eq 36 ] || fail TaskSetupFailed "cannot generate a task id from /dev/urandom"
  dir="$TASK_PREFIX$id"
  if ! _err=$(mkdir "$dir" 2>&1); then
    case "$_err" in
      *[Nn]o\ space*) emit 28 "Error running subprocess: free space is low: cannot create task directory $dir: $_err; check /var/log/vmkernel.log and the host's /tmp ramdisk" ;;
      *) fail TaskSetupFailed "cannot create task directory $dir: $_err" ;;
    esac
    exit 0
  fi
  chmod 750 "$dir"

  # The RDM descriptor must live on VMFS; it goes next to the source disk and is removed by
  # --task-clean (or the stale purge).
  rdm="${src%.vmdk}-xcopy-${id%%-*}.vmdk"
  put "$dir/source" "$src" &&
    put "$dir/rdmfile" "$rdm" &&
    put "$dir/targetLun" "$dev" ||
    fail TaskSetupFailed "cannot write task files in $dir (is /tmp full?)"
  # XCOPY use is judged from the counter's growth during this task, not its absolute value: the
  # LUN may have served an earlier clone.
  if _ops=$(clone_write_ops "$dev"); then
    put "$dir/cloneWriteOps.start" "$_ops"
  fi

  log info "task $id: $VMKFSTOOLS -i '$src' -d 'rdm:$tgt' '$rdm'"
  # Paths travel as arguments, never inside the command string, so no quoting can break them.
  # shellcheck disable=SC2016 # expanded by the task shell
  setsid "$TASK_SHELL" -c '
d=$1
shift
"$@"
rc=$?
printf "%s" "$rc" >"$d/exitcode.tmp" && mv -f "$d/exitcode.tmp" "$d/exitcode"
' vmkfstools-task "$dir" "$VMKFSTOOLS" -i "$src" -d "rdm:$tgt" "$rdm" \
    </dev/null >"$dir/out" 2>"$dir/err" &
  pid=$!
  [ -n "$pid" ] || fail TaskSetupFailed "cannot start vmkfstools for task $id" "$id"
  put "$dir/pid" "$pid" || fail TaskSetupFailed "cannot write $dir/pid" "$id"
  emit 0 "{\"taskId\": $(json_str "$id"), \"pid\": $pid, \"xcopyUsed\": false}"
}

do_task_get() {
  check_task_id "$ID"
  dir="$TASK_PREFIX$ID"
  [ -d "$dir" ] || fail TaskNotFound "Task directory $dir not found" "$ID"
  pid=$(cat "$dir/pid" 2>/dev/null)
  case "$pid" in '' | *[!0-9]*) fail TaskBroken "Failed to read PID of task $ID" "$ID" ;; esac

  # The exit code first, then the output: the task writes its exit code only after vmkfstools has
  # finished writing, so output read afterwards is complete for a finished task.
  running=false
  _note=""
  exitcode=$(cat "$dir/exitcode" 2>/dev/null | tr -d ' \t\r\n')
  if [ -z "$exitcode" ]; then
    if is_alive "$pid"; then
      running=true
    else
      exitcode=$(cat "$dir/exitcode" 2>/dev/null | tr -d ' \t\r\n')
      if [ -z "$exitcode" ]; then
        exitcode=1
        _note="vmkfstools-wrapper: clone process $pid ended without recording an exit code (killed, or the host restarted it)"
        log warning "task $ID: $_note"
      fi
    fi
  fi

  # vmkfstools rewrites its progress line in place with \r: `Clone: 12% done.\rClone: 13% done.`
  _tail=$(tail -c 4096 "$dir/out" 2>/dev/null | tr '\r' '\n')
  last_line=$(printf '%s\n' "$_tail" | grep -v '^[[:space:]]*$' | tail -n 1)
  progress=$(printf '%s\n' "$_tail" | grep -o '[0-9][0-9]*%' | tail -n 1 | tr -d '%')
  case "$progress" in '' | *[!0-9]*) progress=null ;; esac
  if [ "$progress" != null ] && [ "$progress" -gt 100 ]; then progress=null; fi
  stderr_text=$(tail -c 4096 "$dir/err" 2>/dev/null)
  if [ -n "$_note" ]; then
    stderr_text="${stderr_text:+$stderr_text
}$_note"
  fi

  xcopy=null
  ops=null
  dev=$(cat "$dir/targetLun" 2>/dev/null)
  case "$dev" in
    '' | *[!A-Za-z0-9._:-]*) ;;
    *)
      if _now=$(clone_write_ops "$dev"); then
        _start=$(cat "$dir/cloneWriteOps.start" 2>/dev/null)
        case "$_start" in '' | *[!0-9]*) _start=0 ;; esac
        [ "$_start" -le "$_now" ] || _start=0
        ops=$((_now - _start))
        if [ "$ops" -gt 0 ]; then xcopy=true; else xcopy=false; fi
      fi
      ;;
  esac

  emit 0 "{\"taskId\": $(json_str "$ID"), \"pid\": $pid, \"exitCode\": $(json_str "$exitcode"), \"lastLine\": $(json_str "$last_line"), \"xcopyUsed\": $xcopy, \"stdErr\": $(json_str "$stderr_text"), \"running\": $running, \"progress\": $progress, \"cloneWriteOps\": $ops}"
}

do_task_clean() {
  check_task_id "$ID"
  dir="$TASK_PREFIX$ID"
  [ -d "$dir" ] || fail TaskNotFound "Task directory $dir not found" "$ID"
  cancelled=$(clean_task_files "$dir") || fail CleanupFailed "failed to remove task directory $dir" "$ID"
  log info "task $ID cleaned (process stopped: $cancelled)"
  emit 0 "{\"taskId\": $(json_str "$ID"), \"cancelled\": ${cancelled:-false}}"
}

do_version() {
  if [ "$OUTPUT" = simple ]; then
    printf '%s\n' "$SCRIPT_VERSION"
  else
    emit 0 "{\"version\": $(json_str "$SCRIPT_VERSION"), \"implementation\": \"hoist\", \"features\": [\"quoted-ssh-args\", \"hex-args\", \"cancel-on-clean\", \"progress\"]}"
  fi
}

# --- main -------------------------------------------------------------------------------------------

ACTION=
SRC=
TGT=
ID=

set_action() {
  [ -z "$ACTION" ] || [ "$ACTION" = "$1" ] || fail UsageError "only one of --clone, --task-get, --task-clean, --version may be given"
  ACTION=$1
}

if [ $# -eq 0 ] && [ -n "${SSH_ORIGINAL_COMMAND:-}" ]; then
  _in=$SSH_ORIGINAL_COMMAND
  case "$_in" in
    DS=*\;CMD=*) _in=${_in#*;CMD=} ;;
  esac
  log info "SSH request: $_in"
  # Words are split like a shell would (quotes, backslashes), never expanded. For clients that do
  # not quote (Forklift's), an unquoted value of -s/-t runs on over unquoted words that do not
  # start with '-', keeping the blanks between them, so paths with spaces still arrive whole.
  _pending=
  _has_pending=0
  _joinable=0
  _prev=
  while :; do
    next_word
    _rc=$?
    [ $_rc -eq 2 ] && fail UsageError "unbalanced quote in SSH command"
    [ $_rc -eq 0 ] || break
    if [ $_has_pending -eq 1 ] && [ $_joinable -eq 1 ] && [ $TOK_QUOTED -eq 0 ]; then
      case "$TOK" in
        -*) ;;
        *)
          _pending="$_pending$TOK_SEP$TOK"
          continue
          ;;
      esac
    fi
    if [ $_has_pending -eq 1 ]; then
      set -- "$@" "$_pending"
    fi
    _joinable=0
    case "$_prev" in
      -s | --source-vmdk | -t | --target-lun) [ $TOK_QUOTED -eq 0 ] && _joinable=1 ;;
    esac
    _pending=$TOK
    _has_pending=1
    _prev=$TOK
  done
  if [ $_has_pending -eq 1 ]; then
    set -- "$@" "$_pending"
  fi
fi

need_value() { # <option> <remaining argc>
  [ "$2" -ge 2 ] || fail UsageError "option $1 needs a value"
}

while [ $# -gt 0 ]; do
  case "$1" in
    --clone) set_action clone ;;
    --task-get) set_action task-get ;;
    --task-clean) set_action task-clean ;;
    -v | --version) set_action version ;;
    -s | --source-vmdk)
      need_value "$1" $#
      SRC=$2
      shift
      ;;
    --source-vmdk=*) SRC=${1#*=} ;;
    -t | --target-lun)
      need_value "$1" $#
      TGT=$2
      shift
      ;;
    --target-lun=*) TGT=${1#*=} ;;
    -i | --task-id)
      need_value "$1" $#
      ID=$2
      shift
      ;;
    --task-id=*) ID=${1#*=} ;;
    --output)
      need_value "$1" $#
      OUTPUT=$2
      shift
      ;;
    --output=*) OUTPUT=${1#*=} ;;
    *) fail UsageError "Unknown option: $1" ;;
  esac
  shift
done

case "$OUTPUT" in
  xml | simple) ;;
  *) fail UsageError "unknown output format: $OUTPUT (xml or simple)" ;;
esac

case "$ACTION" in
  clone) do_clone ;;
  task-get) do_task_get ;;
  task-clean) do_task_clean ;;
  version) do_version ;;
  *) fail UsageError "one of --clone, --task-get, --task-clean, --version is required" ;;
esac
exit 0
