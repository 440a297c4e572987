# Patients, referrals, concerns and episodes arrive with the referral intake issue.
