-- One row per LA and statistical neighbour, by old (3-digit) codes.

with neighbours as (
    select * from {{ ref('statistical_neighbours') }}
),

las as (
    select * from {{ ref('la_lookup') }}
)

select
    la.old_la_code,
    neighbour.old_la_code as neighbour_old_la_code,
    neighbours.sn as neighbour_rank,
    trim(neighbours.sn_prox) as proximity,
    la.la_code as new_la_code,
    neighbour.la_code as neighbour_new_la_code,
    neighbour.la_name as neighbour_la_name
from neighbours
inner join las as la
    on neighbours.la_code = la.la_code
inner join las as neighbour
    on neighbours.sn_code = neighbour.la_code
