-- Demo report, section 0: what the CRM holds.
\echo
\echo '== The CRM at a glance =='
