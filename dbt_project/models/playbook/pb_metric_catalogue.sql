-- The playbook's metrics and outcome indicators: one row each, with the label used in tables,
-- charts and benchmark sentences, the unit and the year basis (see pb_la_year_metrics.yml).

select
    metric,
    label,
    unit,
    basis,
    domain,
    source,
    sort_order
from (
    values
    ('ehcp_count', 'EHCPs', 'plans', 'census', 'caseload', 'returns', 1),
    ('ehcp_growth_pct', 'EHCP growth on the year', 'percent', 'census', 'caseload', 'returns', 2),
    ('ehcp_cagr_3y_pct', 'EHCP growth a year over 3 years (CAGR)', 'percent', 'census', 'caseload', 'returns', 3),
    ('new_plans', 'New EHCPs', 'plans', 'flow_year', 'flows', 'returns', 4),
    ('new_plans_pct_of_caseload', 'New EHCPs as % of the previous caseload', 'percent', 'flow_year', 'flows', 'returns', 5),
    ('ceased_plans', 'Ceased EHCPs', 'plans', 'flow_year', 'flows', 'returns', 6),
    ('ceased_plans_pct_of_caseload', 'Ceased EHCPs as % of the previous caseload', 'percent', 'flow_year', 'flows', 'returns', 7),
    ('pct_mainstream', '% in mainstream (incl. RP and SEN units)', 'percent', 'census', 'placement_mix', 'returns', 8),
    ('pct_mss', '% in maintained special schools (MSS)', 'percent', 'census', 'placement_mix', 'returns', 9),
    ('pct_inmss', '% in independent or non-maintained special schools (INMSS)', 'percent', 'census', 'placement_mix', 'returns', 10),
    ('pct_ap', '% in alternative provision (AP)', 'percent', 'census', 'placement_mix', 'returns', 11),
    ('pct_post16', '% in post-16 settings', 'percent', 'census', 'placement_mix', 'returns', 12),
    ('pct_other', '% elsewhere (early years, EOTAS, EHE, NEET, unknown)', 'percent', 'census', 'placement_mix', 'returns', 13),
    ('unit_cost_mainstream', 'Mainstream unit cost', 'gbp', 'financial_year', 'unit_cost', 'returns', 14),
    ('unit_cost_rp_unit', 'RP and SEN unit cost', 'gbp', 'financial_year', 'unit_cost', 'returns', 15),
    ('unit_cost_mss', 'MSS unit cost', 'gbp', 'financial_year', 'unit_cost', 'returns', 16),
    ('unit_cost_inmss', 'INMSS unit cost', 'gbp', 'financial_year', 'unit_cost', 'returns', 17),
    ('unit_cost_ap', 'AP unit cost', 'gbp', 'financial_year', 'unit_cost', 'returns', 18),
    ('unit_cost_post16', 'Post-16 unit cost', 'gbp', 'financial_year', 'unit_cost', 'returns', 19),
    ('unit_cost_early_years', 'Early years unit cost', 'gbp', 'financial_year', 'unit_cost', 'returns', 20),
    ('unit_cost_eotas', 'EOTAS unit cost', 'gbp', 'financial_year', 'unit_cost', 'returns', 21),
    ('hnb_spend_gbp', 'High needs spend (outturn)', 'gbp', 'financial_year', 'finance', 'returns', 22),
    ('dsg_in_year_balance_pct', 'DSG in-year balance as % of HNB income', 'percent', 'financial_year', 'finance', 'returns', 23),
    ('dsg_cumulative_balance_pct', 'DSG cumulative balance as % of HNB income', 'percent', 'financial_year', 'finance', 'returns', 24),
    ('dsg_cumulative_balance_gbp', 'DSG cumulative balance', 'gbp', 'financial_year', 'finance', 'returns', 25),
    ('timeliness_20wk_pct', 'EHCPs issued within 20 weeks (incl. exceptions)', 'percent', 'calendar_year', 'outcome', 'public', 31),
    (
        'timeliness_20wk_excl_exceptions_pct',
        'EHCPs issued within 20 weeks (excl. exceptions)',
        'percent',
        'calendar_year',
        'outcome',
        'public',
        32
    ),
    ('public_pct_mainstream', '% of EHCPs in mainstream (DfE)', 'percent', 'calendar_year', 'outcome', 'public', 33),
    ('public_pct_inmss', '% of EHCPs in INMSS (DfE)', 'percent', 'calendar_year', 'outcome', 'public', 34),
    ('public_ehcp_growth_pct', 'EHCP growth on the year (DfE)', 'percent', 'calendar_year', 'outcome', 'public', 35),
    ('requests_refused_pct', '% of assessment requests refused', 'percent', 'calendar_year', 'outcome', 'public', 36),
    ('tribunal_appeal_rate_pct', 'SEND Tribunal appeal rate', 'percent', 'calendar_year', 'outcome', 'public', 37)
) as catalogue (metric, label, unit, basis, domain, source, sort_order)
