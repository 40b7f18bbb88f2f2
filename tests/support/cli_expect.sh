# Shared by the CLI test scripts (source it after setting `scratch` to a private temporary directory):
# expect CODE PATTERN -- command... runs the command, passes when it exits with CODE and its stdout or
# stderr contains PATTERN, and counts the outcome in `passes` / `failures`.
passes=0
failures=0
expect() {
  local code=$1 pattern=$2
  shift 3
  "$@" >"$scratch/out" 2>"$scratch/err"
  local got=$?
  if [ "$got" -ne "$code" ] || ! grep -q -- "$pattern" "$scratch/err" "$scratch/out"; then
    echo "FAIL: $* -> exit $got (want $code), output lacks '$pattern':"; cat "$scratch/err"
    failures=$((failures + 1))
  else
    echo "ok: $*"
    passes=$((passes + 1))
  fi
}
