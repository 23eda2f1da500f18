{{ config(**incremental_by_la()) }}

-- One row per EHC plan active at each January census the LA's placements cover.
-- A plan is active if ehcp_start_date <= census_date and (ehcp_end_date is null or
-- ehcp_end_date >= census_date). Its provision is that of the placement spell active on census
-- day (placement_start_date <= census_date and (placement_end_date is null or >= census_date));
-- where one spell ends and the next starts on census day, the later-starting spell counts; with no
-- active spell the provision is UNKNOWN. Primary need comes from the active spell, else the plan.
-- Each plan and spell is expanded to the census years it is active at (no range join, so DuckDB
-- can spill to disk), and built per LA (macros/incremental_by_la.sql).

-- The LAs to build (every LA on a full build): plans and spells join them.
with coverage as (
    select la_code, latest_census_year
    from {{ ref('int_placements_coverage') }}
    {{ where_la_is_stale('la_code', ref('int_ehcp_plans')) }}
),

plan_censuses as (
    select
        plans.*,
        {{ census_years_between('plans.ehcp_start_date', 'plans.ehcp_end_date', 'coverage.latest_census_year') }}
            as census_year
    from {{ ref('int_ehcp_plans') }} as plans
    inner join coverage
        on plans.la_code = coverage.la_code
),

spell_censuses as (
    select
        spells.plan_id,
        spells.spell_number,
        spells.provision_type,
        spells.primary_need,
        spells.setting_urn,
        spells.annual_cost_gbp,
        {{ census_years_between('spells.placement_start_date', 'spells.placement_end_date', 'coverage.latest_census_year') }}
            as census_year
    from {{ ref('int_placement_spells') }} as spells
    inner join coverage
        on spells.la_code = coverage.la_code
),

active_spells as (
    select
        plan_id,
        census_year,
        {{ arg_max_null('provision_type', 'spell_number') }} as provision_type,
        {{ arg_max_null('primary_need', 'spell_number') }} as primary_need,
        {{ arg_max_null('setting_urn', 'spell_number') }} as setting_urn,
        {{ arg_max_null('annual_cost_gbp', 'spell_number') }} as annual_cost_gbp
    from spell_censuses
    group by plan_id, census_year
),

active_plans as (
    select
        *,
        {{ age_in_years('date_of_birth', academic_year_age_date(census_date('census_year'))) }} as age
    from plan_censuses
)

select
    active_plans.la_code,
    active_plans.census_year,
    {{ census_date('active_plans.census_year') }} as census_date,
    active_plans.plan_id,
    active_plans.child_id,
    active_plans.date_of_birth,
    active_plans.sex,
    coalesce(active_spells.primary_need, active_plans.primary_need) as primary_need,
    coalesce(active_spells.provision_type, 'UNKNOWN') as provision_type,
    active_spells.plan_id is not null as has_active_placement,
    active_spells.setting_urn,
    active_spells.annual_cost_gbp,
    active_plans.age,
    {{ dsg_age_group('active_plans.age') }} as age_group,
    active_plans.source_sha256
from active_plans
left join active_spells
    on
        active_spells.plan_id = active_plans.plan_id
        and active_spells.census_year = active_plans.census_year
