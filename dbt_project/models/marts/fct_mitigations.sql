-- Mitigations by LA, financial year, line of enquiry and status, with the line of enquiry's label.

with mitigations as (
    select * from {{ ref('stg_raw__mitigations') }}
),

lines_of_enquiry as (
    select * from {{ ref('code_line_of_enquiry') }}
)

select
    mitigations.la_code,
    mitigations.financial_year,
    mitigations.line_of_enquiry,
    lines_of_enquiry.label as line_of_enquiry_label,
    mitigations.status,
    count(*) as mitigation_count,
    cast(sum(mitigations.saving_gbp) as decimal(18, 2)) as saving_gbp,
    cast(sum(mitigations.dbv_grant_gbp) as decimal(18, 2)) as dbv_grant_gbp,
    any_value(mitigations.return_period) as return_period
from mitigations
left join lines_of_enquiry
    on mitigations.line_of_enquiry = lines_of_enquiry.code
group by all
