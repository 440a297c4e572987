"""Historic referrals from a CSV file (`manage.py import_referrals`), all or nothing.

docs/referral-import.md describes the file column by column and the decisions behind each rule;
keep the two in step. One module a step, and callers import from the one they need:

- columns: the file's columns and rules, Row, ReferralImportError and ImportResult;
- reading: the file opened to be read a line at a time, the header, then each row read and
  checked on its own into a Row;
- staging: each Row copied into a temporary table as it comes, so the file is never held whole;
- checks: rows checked across the file and against the patients and referrals held;
- writing: the checked rows, and their history, written with set-based SQL;
- progress: the progress line of a long import;
- run: referrer_for_import and referrals_import, the steps in order.
"""
