"""Post-hoc prescription review (事后点评): each month a random sample of the approved
prescriptions per clinician is drawn (services.review_draw, by beat), and pharmacists of the
institution the prescriptions were routed to score each against the checklist of 《医院处方点评管理规范（试行）》
(checklist), once (services.review_score)."""
