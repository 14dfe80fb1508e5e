#!/usr/bin/env bash
# ctest: `countylinkctl ecg-eval` on ../shared/ecg-quality prints its figures in the agreed
# format, its cross-validated accuracy, sensitivity and specificity stay within one record of
# what the gate reached (0.938 / 0.879 / 0.956, seed 2011), and LA/RA reversal is found in
# >= 90 % of swapped acceptable records with <= 2 % false alarms on the unswapped ones.
# Usage: ecg_eval_check.sh COUNTYLINKCTL SHARED_ECG_QUALITY_DIR
set -euo pipefail
ctl="$1" data="$2"
if [[ ! -f "$data/LABELS.csv" || ! -d "$data/set-a" ]]; then
  echo "FAIL: $data/LABELS.csv or set-a missing: is ../shared there?" >&2
  exit 1
fi
out="$("$ctl" ecg-eval "$data/set-a" "$data/LABELS.csv" --folds 10 --reversal)"
echo "$out"
fail() { echo "FAIL: $*" >&2; exit 1; }
grep -Eq '^records=698 unreadable=0$' <<<"$out" || fail "not every record was read"
grep -Eq '^confusion \(unacceptable = positive\): TP=[0-9]+ FN=[0-9]+ FP=[0-9]+ TN=[0-9]+$' <<<"$out" \
  || fail "no confusion matrix line"
grep -Eq '^sensitivity=[01]\.[0-9]{3} specificity=[01]\.[0-9]{3}$' <<<"$out" \
  || fail "no 'sensitivity=0.xxx specificity=0.xxx' line"
last="$(tail -n 1 <<<"$out")"
[[ "$last" =~ ^accuracy=([01]\.[0-9]{3})$ ]] || fail "last line is not accuracy=0.xxx: $last"
accuracy="${BASH_REMATCH[1]}"
# The matrix must add up to the accuracy printed.
read -r tp fn fp tn < <(sed -nE 's/^confusion.*TP=([0-9]+) FN=([0-9]+) FP=([0-9]+) TN=([0-9]+)$/\1 \2 \3 \4/p' <<<"$out")
(( tp + fn + fp + tn == 698 )) || fail "confusion matrix does not count 698 records"
awk -v a="$accuracy" -v r="$(( tp + tn ))" 'BEGIN { d = a - r / 698; exit !(d < 0.0006 && d > -0.0006) }' \
  || fail "accuracy $accuracy does not match the matrix"
awk -v a="$accuracy" 'BEGIN { exit !(a >= 0.936) }' \
  || fail "cross-validated accuracy $accuracy is below 0.936 (0.938 with muscle noise as a note and centred burden ties)"
read -r sens spec < <(sed -nE 's/^sensitivity=([01]\.[0-9]{3}) specificity=([01]\.[0-9]{3})$/\1 \2/p' <<<"$out")
awk -v s="$sens" -v p="$spec" 'BEGIN { exit !(s >= 0.873 && p >= 0.954) }' \
  || fail "cross-validated sensitivity $sens (want >= 0.873), specificity $spec (want >= 0.954)"
rev="$(grep -E '^reversal on ' <<<"$out")" || fail "no reversal line"
[[ "$rev" =~ detected=([01]\.[0-9]{3})\ false_alarms=([01]\.[0-9]{3})$ ]] || fail "bad reversal line: $rev"
awk -v d="${BASH_REMATCH[1]}" -v f="${BASH_REMATCH[2]}" 'BEGIN { exit !(d >= 0.90 && f <= 0.02) }' \
  || fail "reversal detected ${BASH_REMATCH[1]} (want >= 0.90), false alarms ${BASH_REMATCH[2]} (want <= 0.02)"
echo "ecg-eval check passed: cross-validated accuracy $accuracy"
