"""Historic referrals from a CSV file (`manage.py import_referrals`), all or nothing.

docs/referral-import.md describes the file column by column and the decisions behind each rule;
keep the two in step. One module a step, and callers import from the one they need:

- columns: the file's columns and rules, Row, ReferralImportError and ImportResult;
- reading: the header, then each row read and checked on its own into a Row;
- checks: rows checked across the file and against the patients and referrals held;
- writing: the checked rows written with COPY and set-based SQL;
- run: referrer_for_import and referrals_import, the steps in order.
"""
