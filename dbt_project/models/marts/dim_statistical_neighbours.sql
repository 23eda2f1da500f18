-- One row per LA and statistical neighbour, by DfE's 3-digit LA codes.

with neighbours as (
    select * from {{ ref('statistical_neighbours') }}
),

las as (
    select * from {{ ref('la_lookup') }}
)

select
    la.la_code,
    neighbour.la_code as neighbour_la_code,
    neighbours.neighbour_rank,
    trim(neighbours.proximity) as proximity,
    la.ons_la_code,
    neighbour.ons_la_code as neighbour_ons_la_code,
    neighbour.la_name as neighbour_la_name
from neighbours
inner join las as la
    on neighbours.ons_la_code = la.ons_la_code
inner join las as neighbour
    on neighbours.neighbour_ons_la_code = neighbour.ons_la_code
