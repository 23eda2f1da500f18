{{ config(materialized='table') }}

-- One row per EHC plan active at each January census the LA's placements cover.
-- A plan is active if ehcp_start_date <= census_date and (ehcp_end_date is null or
-- ehcp_end_date >= census_date). Its provision is that of the placement spell active on census
-- day (placement_start_date <= census_date and (placement_end_date is null or >= census_date));
-- where one spell ends and the next starts on census day, the later-starting spell counts; with no
-- active spell the provision is UNKNOWN. Primary need comes from the active spell, else the plan.

with censuses as (
    select
        coverage.la_code,
        census_dates.census_year,
        census_dates.census_date
    from {{ ref('int_placements_coverage') }} as coverage
    inner join {{ ref('int_census_dates') }} as census_dates
        on census_dates.census_year <= coverage.latest_census_year
),

active_plans as (
    select
        censuses.census_year,
        censuses.census_date,
        plans.*
    from {{ ref('int_ehcp_plans') }} as plans
    inner join censuses
        on plans.la_code = censuses.la_code
        and plans.ehcp_start_date <= censuses.census_date
        and (plans.ehcp_end_date is null or plans.ehcp_end_date >= censuses.census_date)
),

active_spells as (
    select
        active_plans.plan_id,
        active_plans.census_year,
        spells.provision_type,
        spells.primary_need,
        spells.setting_urn,
        spells.annual_cost_gbp
    from active_plans
    inner join {{ ref('int_placement_spells') }} as spells
        on spells.plan_id = active_plans.plan_id
        and spells.placement_start_date <= active_plans.census_date
        and (spells.placement_end_date is null or spells.placement_end_date >= active_plans.census_date)
    qualify row_number() over (
        partition by active_plans.plan_id, active_plans.census_year
        order by spells.placement_start_date desc
    ) = 1
)

select
    active_plans.la_code,
    active_plans.census_year,
    active_plans.census_date,
    active_plans.plan_id,
    active_plans.child_id,
    active_plans.date_of_birth,
    active_plans.sex,
    coalesce(active_spells.primary_need, active_plans.primary_need) as primary_need,
    coalesce(active_spells.provision_type, 'UNKNOWN') as provision_type,
    active_spells.plan_id is not null as has_active_placement,
    active_spells.setting_urn,
    active_spells.annual_cost_gbp,
    {{ dsg_age_group('active_plans.date_of_birth', 'active_plans.census_date') }} as age_group
from active_plans
left join active_spells
    on active_spells.plan_id = active_plans.plan_id
    and active_spells.census_year = active_plans.census_year
